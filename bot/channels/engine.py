"""What the gateway needs from a dialogue engine, so channels and tests need no Rasa."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.storage.tables import Button


@dataclass(frozen=True)
class BotReply:
    """One bot utterance; `text` is None when the engine sent only buttons."""

    text: str | None
    buttons: list[Button] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerVerified:
    """The action server proved that the customer owns an order of this shop customer.

    It reaches the gateway as a custom message that only actions can produce, and is
    never shown to the customer.
    """

    customer_id: int


# Metadata that asks the engine which intent it read (bot/engine/gateway_channel.py).
REPORT_INTENT = "report_intent"
# The stored message's id: an engine that already answered it repeats that answer instead
# of taking the message in twice (bot/engine/gateway_channel.py).
GATEWAY_MESSAGE_ID = "gateway_message_id"


@dataclass(frozen=True)
class EngineTurn:
    replies: list[BotReply]
    verified_customers: list[CustomerVerified] = field(default_factory=list)
    # The intent the engine read, when the gateway asked (bot/storage/desk_events.py).
    intent: str | None = None


class EngineUnavailable(Exception):
    """The engine could not be reached or answered nonsense.

    Messages carry no customer text, because they end up in logs.
    """


class ConversationEngine(Protocol):
    async def send(
        self, *, conversation_id: str, text: str, metadata: dict[str, object]
    ) -> EngineTurn:
        """Replies to one customer message; raises EngineUnavailable on any engine failure."""
        ...

    async def ready(self) -> bool:
        """Whether a message sent now would be answered (the replayer asks before it retries)."""
        ...

    async def resume(self, *, conversation_id: str, outcome: str) -> None:
        """Un-pauses a conversation after a person had it, telling the bot what happened;
        raises EngineUnavailable if the engine cannot be told."""
        ...
