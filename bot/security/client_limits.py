"""The gateway's per-client limits on starting conversations and sending messages.

Every channel asks the same two limiters, so a client cannot get more by
switching between the API, the web chat and Telegram (each is keyed by client).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.security.rate_limit import SlidingWindowLimiter
from bot.settings import Settings

RATE_LIMITED_REPLY = (
    "You're sending messages faster than I can take them. "
    "Please wait a moment and then write again; nothing you sent before is lost."
)


def too_many_conversations(retry_after: str) -> str:
    return f"too many new conversations from this client; try again in {retry_after} s"


def too_many_messages(retry_after: str) -> str:
    return f"too many messages from this client; try again in {retry_after} s"


FRAMES_LIMITED = (
    "This page is sending more than the chat can take, so it was disconnected. "
    "It will connect again by itself in {seconds} seconds."
)


@dataclass(frozen=True)
class ClientLimits:
    conversations: SlidingWindowLimiter
    messages: SlidingWindowLimiter
    # A web chat page sends a ping every 25 s and a delivery report per reply; far more
    # is a broken or hostile page, and each frame costs work (a delivery report, a write).
    frames: SlidingWindowLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientLimits:
        return cls(
            conversations=SlidingWindowLimiter(
                limit=settings.client_conversations_limit,
                window_seconds=settings.client_conversations_window_seconds,
            ),
            messages=SlidingWindowLimiter(
                limit=settings.client_messages_limit,
                window_seconds=settings.client_messages_window_seconds,
            ),
            frames=SlidingWindowLimiter(
                limit=settings.client_frames_per_minute, window_seconds=60.0
            ),
        )
