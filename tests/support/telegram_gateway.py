"""The gateway's settings for Telegram tests, with the fake Bot API on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from bot.settings import Settings
from tests.support.fake_telegram import FakeTelegram


def telegram_settings(database_url: str, telegram: FakeTelegram, **overrides: Any) -> Settings:
    """Polling the fake Bot API, with quick retries; `overrides` for the rest."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "engine_channel_token": SecretStr("t"),
        "webchat_secret": SecretStr("w"),
        "telegram_token": SecretStr(telegram.token),
        "telegram_api_url": telegram.base_url,
        "telegram_webhook_url": "",
        "replay_interval_seconds": 0.1,
        "telegram_resend_seconds": 0.5,
    }
    return Settings(**(values | overrides))


def wait_for(condition: Callable[[], object], what: str, timeout: float = 20) -> None:
    """For what the gateway does in its own tasks (polling, retries), with a bound."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
