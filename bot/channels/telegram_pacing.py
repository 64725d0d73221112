"""The shared limiter (bot/channels/telegram_limiter.py) as python-telegram-bot's rate
limiter: PTB routes every call its `Bot` makes through it (all but getUpdates), so no
sender of the gateway can forget to ask for a slot.

Only calls that make a message take a slot; the rest (an answered button, an edit, a
"typing…") wait out a 429 pause but never queue behind a fan-out. A 429 is waited out
and retried a few times, then raised, as PTB's own AIORateLimiter does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.channels.telegram_limiter import ChatKey, Priority, TelegramLimiter
from bot.settings import Settings

# As in bot/channels/telegram.py: a 429's retry_after as a timedelta, without PTB 22's
# deprecation warning on every read.
os.environ.setdefault("PTB_TIMEDELTA", "true")

logger = logging.getLogger(__name__)

RETRIES_AFTER_429 = 3
_NOT_MESSAGES = frozenset({"sendChatAction"})
_MESSAGE_PREFIXES = ("send", "copyMessage", "forwardMessage")


@dataclass(frozen=True)
class Pace:
    """PTB's `rate_limit_args` for one call: who is waiting for it, and how many 429s it
    waits out before the caller hears of one."""

    priority: Priority = Priority.REPLY
    retries: int = RETRIES_AFTER_429


REPLY = Pace()


def makes_a_message(endpoint: str) -> bool:
    return endpoint.startswith(_MESSAGE_PREFIXES) and endpoint not in _NOT_MESSAGES


def retry_after_seconds(error: RetryAfter) -> float:
    """PTB 22 gives a timedelta or an int, depending on PTB_TIMEDELTA."""
    value: int | timedelta = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat_key(data: dict[str, Any]) -> ChatKey | None:
    chat = data.get("chat_id")
    return None if chat is None else str(chat)


class SharedRateLimiter(BaseRateLimiter[Pace]):
    def __init__(self, limiter: TelegramLimiter) -> None:
        self.limiter = limiter

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Pace | None,
    ) -> bool | JSONDict | list[JSONDict]:
        pace = rate_limit_args or REPLY
        chat = _chat_key(data)
        message = makes_a_message(endpoint)
        attempt = 0
        while True:
            try:
                if message:
                    async with self.limiter.slot(chat, priority=pace.priority):
                        return await callback(*args, **kwargs)
                await self.limiter.wait_unpaused(chat)
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = retry_after_seconds(error)
                self.limiter.rate_limited(chat, seconds)
                logger.warning("Telegram asked to wait %.1f s (%s)", seconds, endpoint)
                if attempt >= pace.retries:
                    raise
                attempt += 1


def shared_rate_limiter(settings: Settings) -> SharedRateLimiter:
    return SharedRateLimiter(
        TelegramLimiter(
            messages_per_second=settings.telegram_messages_per_second,
            chat_messages_per_second=settings.telegram_chat_messages_per_second,
            chat_burst=settings.telegram_chat_burst,
        )
    )
