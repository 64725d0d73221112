"""Waiting in async tests for what happens in the background, bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Returns once `condition()` holds; fails the test if it does not within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"condition not met within {seconds} s"
        await asyncio.sleep(0.02)


def eventually(condition: Callable[[], object], what: str, seconds: float) -> None:
    """The same for tests that are not async (whole processes working in the background)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.2)
