"""How a channel hands stored outbound messages to the customer, whoever produced them.

The relay stores replies as "queued"; whatever answered (a live request, or the
replayer after an outage) passes them to the conversation's channel, which marks
each one delivered once the customer's side confirmed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.channels.relay_store import StoredMessage


class Delivery(Protocol):
    async def deliver(self, conversation_id: str, messages: Sequence[StoredMessage]) -> None:
        """Sends what it can now; anything it cannot stays queued for a later attempt."""
        ...


class NoPush:
    """For the HTTP API: clients get replies in the response or read the transcript."""

    async def deliver(self, conversation_id: str, messages: Sequence[StoredMessage]) -> None:
        return None
