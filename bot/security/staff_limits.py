"""Limits on the staff's own routes (the Ops chat, Telegram linking), per staff member.

A signed-in member is known, so they are counted by account rather than by address;
messages to the bot share the customers' per-client message budget
(`ClientLimits.messages`, keyed "staff:<id>"), these two cover the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.security.rate_limit import SlidingWindowLimiter
from bot.settings import Settings

# Link codes made and links removed: a person does this a few times a day.
LINK_CHANGES_LIMIT = 10
LINK_CHANGES_WINDOW_SECONDS = 600.0


def too_many_reads(retry_after: str) -> str:
    return f"too many requests from this account; try again in {retry_after} s"


def too_many_link_changes(retry_after: str) -> str:
    return f"too many link codes or unlinks; try again in {retry_after} s"


@dataclass(frozen=True)
class StaffLimits:
    # The page re-reads the Ops chat and the link after events: as often as a web chat
    # page may send frames (`SHOPDESK_CLIENT_FRAMES_PER_MINUTE`).
    reads: SlidingWindowLimiter
    link_changes: SlidingWindowLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> StaffLimits:
        return cls(
            reads=SlidingWindowLimiter(
                limit=settings.client_frames_per_minute, window_seconds=60.0
            ),
            link_changes=SlidingWindowLimiter(
                limit=LINK_CHANGES_LIMIT, window_seconds=LINK_CHANGES_WINDOW_SECONDS
            ),
        )
