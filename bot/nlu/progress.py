"""A progress bar with the time left, for the encoder's fine-tuning inside `make train`.

The tuning is most of a first `make train`; a newcomer watching a silent terminal for
three minutes cannot tell a slow machine from a stuck one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 24


def _duration(seconds: float) -> str:
    whole = max(round(seconds), 0)
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


def render_bar(done: int, total: int, elapsed: float, *, label: str) -> str:
    """`label [#####-------] 42% 1 min 05 s left`, the time left from the pace so far."""
    total = max(total, 1)
    done = min(max(done, 0), total)
    filled = WIDTH * done // total
    bar = "#" * filled + "-" * (WIDTH - filled)
    if done == total:
        tail = f"done in {_duration(elapsed)}"
    elif done == 0:
        tail = "estimating the time left"
    else:
        tail = f"about {_duration(elapsed * (total - done) / done)} left"
    return f"{label} [{bar}] {100 * done // total:3d}% {tail}"


class ProgressBar:
    """Redrawn in place on a terminal; on a pipe or a CI log, one line per tenth of the way."""

    def __init__(
        self,
        total: int,
        *,
        label: str,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.label = total, label
        self._stream = stream or sys.stderr
        self._clock = clock
        self._started = clock()
        self._done = 0
        self._last_tenth = -1
        self._live = self._stream.isatty()

    def advance(self, steps: int = 1) -> None:
        self._done = min(self._done + steps, self.total)
        line = render_bar(self._done, self.total, self._clock() - self._started, label=self.label)
        if self._live:
            end = "\n" if self._done == self.total else ""
            self._stream.write(f"\r{line}{end}")
            self._stream.flush()
            return
        tenth = 10 * self._done // max(self.total, 1)
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self._stream.write(line + "\n")
            self._stream.flush()
