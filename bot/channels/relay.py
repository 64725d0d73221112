"""The one message pipeline every channel uses: persist, ask the engine, persist the answer.

The database calls are synchronous SQLAlchemy, so they run in worker threads and
never stall the event loop that other conversations share.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
import weakref
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.engine import BotReply, ConversationEngine, EngineUnavailable
from bot.storage.conversations import add_message, mark_delivery
from bot.storage.tables import Channel

logger = logging.getLogger(__name__)

ENGINE_DOWN_REPLY = (
    "Sorry, we're having trouble answering right now. "
    "Your message is saved and we'll reply as soon as we can."
)
# Rasa reads a message starting with "/" as an intent (and slot values) typed directly.
# A zero-width space in front keeps a customer's "/..." plain text for the engine.
SLASH_GUARD = "\u200b"
# Line breaks and tabs are ordinary in typed text; "\r" arrives with Windows line ends.
_ALLOWED_CONTROL_CHARACTERS = frozenset("\n\r\t")


def invalid_text_reason(text: str, *, max_chars: int) -> str | None:
    """Why a customer text cannot be accepted, in words the client can show; None if fine.

    Shared by every channel so that each refuses the same things the same way.
    """
    if not text.strip():
        return "text must not be empty"
    if len(text) > max_chars:
        return f"text is longer than {max_chars} characters"
    for character in text:
        category = unicodedata.category(character)
        if category == "Cc" and character not in _ALLOWED_CONTROL_CHARACTERS:
            return "text must not contain control characters other than newline and tab"
        if category == "Cs":
            # Lone UTF-16 surrogates from "\ud800"-style JSON escapes cannot be stored as UTF-8.
            return "text must not contain unpaired surrogate characters"
    return None


def text_for_engine(text: str) -> str:
    return SLASH_GUARD + text if text.lstrip().startswith("/") else text


class ConversationLocks:
    """One asyncio.Lock per conversation, so its messages reach the engine one at a time.

    Weak values: a lock disappears once no message of that conversation holds or
    awaits it, so the map does not grow with every conversation ever seen.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def for_conversation(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock


@dataclass(frozen=True)
class RelayOutcome:
    inbound_message_id: int
    replies: list[BotReply]
    # False when the engine failed and `replies` holds only the apology.
    engine_answered: bool


def _store_inbound(
    session_factory: sessionmaker[Session], *, conversation_id: str, channel: Channel, text: str
) -> int:
    with session_factory.begin() as session:
        message = add_message(
            session,
            conversation_id=conversation_id,
            direction="in",
            sender="customer",
            text=text,
            channel=channel,
            delivery_state="received",
        )
        return message.id


def _store_replies(
    session_factory: sessionmaker[Session],
    *,
    conversation_id: str,
    channel: Channel,
    inbound_message_id: int,
    replies: list[BotReply],
) -> None:
    """One transaction: the inbound is "processed" exactly when its replies are stored."""
    with session_factory.begin() as session:
        for reply in replies:
            add_message(
                session,
                conversation_id=conversation_id,
                direction="out",
                sender="bot",
                text=reply.text,
                buttons=reply.buttons,
                channel=channel,
                delivery_state="sent",
            )
        mark_delivery(session, message_id=inbound_message_id, delivery_state="processed")


def _store_engine_down(
    session_factory: sessionmaker[Session],
    *,
    conversation_id: str,
    channel: Channel,
    inbound_message_id: int,
) -> None:
    """Marks the inbound "pending", so a later retry knows the engine never saw it."""
    with session_factory.begin() as session:
        mark_delivery(session, message_id=inbound_message_id, delivery_state="pending")
        add_message(
            session,
            conversation_id=conversation_id,
            direction="out",
            sender="system",
            text=ENGINE_DOWN_REPLY,
            channel=channel,
            delivery_state="sent",
        )


async def relay_customer_message(
    *,
    session_factory: sessionmaker[Session],
    engine: ConversationEngine,
    locks: ConversationLocks,
    conversation_id: str,
    channel: Channel,
    text: str,
) -> RelayOutcome:
    """Stores the customer's text, gets the engine's replies, stores and returns them.

    The text must already be accepted by `invalid_text_reason` and the conversation
    authorised. Engine failures become an honest apology, never an exception.
    """
    async with locks.for_conversation(conversation_id):
        inbound_id = await asyncio.to_thread(
            _store_inbound,
            session_factory,
            conversation_id=conversation_id,
            channel=channel,
            text=text,
        )
        metadata: dict[str, object] = {
            "channel": channel,
            "conversation_id": conversation_id,
            "role": "customer",
        }
        try:
            replies = await engine.send(
                conversation_id=conversation_id, text=text_for_engine(text), metadata=metadata
            )
        except EngineUnavailable as error:
            logger.warning("engine unavailable for conversation %s: %s", conversation_id, error)
            replies = None
        except Exception:
            logger.exception("engine failed unexpectedly for conversation %s", conversation_id)
            replies = None

        if replies is None:
            await asyncio.to_thread(
                _store_engine_down,
                session_factory,
                conversation_id=conversation_id,
                channel=channel,
                inbound_message_id=inbound_id,
            )
            return RelayOutcome(
                inbound_message_id=inbound_id,
                replies=[BotReply(text=ENGINE_DOWN_REPLY)],
                engine_answered=False,
            )

        await asyncio.to_thread(
            _store_replies,
            session_factory,
            conversation_id=conversation_id,
            channel=channel,
            inbound_message_id=inbound_id,
            replies=replies,
        )
        return RelayOutcome(inbound_message_id=inbound_id, replies=replies, engine_answered=True)
