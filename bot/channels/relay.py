"""The one message pipeline every channel uses: persist, ask the engine, persist the answer.

A channel first `accept`s a customer message (stored before anything else, so
it can be acknowledged), then asks the relay to `answer` the conversation: every
customer message the engine has not answered yet, oldest first. The same call
answers messages kept while the engine was down, so the replayer and a new
message can never answer one twice or out of order (one lock per conversation).

The database calls are synchronous SQLAlchemy, so they run in worker threads and
never stall the event loop that other conversations share.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
import weakref
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.engine import (
    GATEWAY_MESSAGE_ID,
    ConversationEngine,
    EngineTurn,
    EngineUnavailable,
)
from bot.channels.relay_store import (
    Accepted,
    Pending,
    Route,
    StoredMessage,
    keep_for_later,
    load_turn,
    mark_resumed,
    read_route,
    store_and_load_turn,
    store_customer_message,
    store_turn,
)
from bot.storage.tables import Channel

logger = logging.getLogger(__name__)

ENGINE_DOWN_REPLY = (
    "Sorry, we're having trouble answering right now. "
    "Your message is kept and we'll reply as soon as we're back."
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


class TurnLocks(Protocol):
    """ConversationLocks in one gateway; SharedConversationLocks (shared_locks.py) across
    several."""

    def for_conversation(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        """Held for a whole turn: storing the message, the engine, storing the replies."""
        ...


class ConversationClosed(Exception):
    """The conversation has ended (or just went idle and ended): start a new one."""


@dataclass(frozen=True)
class Routed:
    """What the handoff side did with a message the bot must not see."""

    messages: list[StoredMessage] = field(default_factory=list)
    # True when the customer moved on (ignored the rating question): the bot answers it.
    pass_to_engine: bool = False
    handoff_id: int | None = None


class PausedConversations(Protocol):
    """Takes the messages of conversations that are with (or waiting for) a person."""

    def wants(self, text: str) -> bool:
        """Whether a message of a conversation with the bot is still for this side."""
        ...

    async def after_bot_turn(
        self, *, conversation_id: str, channel: Channel
    ) -> list[StoredMessage]:
        """Anything the handoff side adds after the bot answered (a rating question)."""
        ...

    async def handle(
        self, *, conversation_id: str, channel: Channel, state: str, message_id: int, text: str
    ) -> Routed: ...


class Relay:
    """Stores customer messages and answers them through the engine, in order, once."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        engine: ConversationEngine,
        locks: TurnLocks | None = None,
        paused: PausedConversations | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._engine = engine
        self._locks = locks or ConversationLocks()
        self._paused = paused

    @property
    def engine(self) -> ConversationEngine:
        return self._engine

    async def accept(
        self,
        *,
        conversation_id: str,
        channel: Channel,
        text: str,
        client_message_id: str | None = None,
        telegram_update_id: int | None = None,
    ) -> Accepted:
        """Stores a customer text, already checked by `invalid_text_reason` (Telegram: with
        its update id, see `store_customer_message`)."""
        return await asyncio.to_thread(
            store_customer_message,
            self._session_factory,
            conversation_id=conversation_id,
            channel=channel,
            text=text,
            client_message_id=client_message_id,
            telegram_update_id=telegram_update_id,
        )

    async def answer(
        self, *, conversation_id: str, up_to: int | None = None
    ) -> list[StoredMessage]:
        """Answers the conversation's unanswered messages (up to the message id `up_to`, so
        that a request gets the replies to its own message, not to a later one); returns
        the new outbound messages, stored as "queued" for the channel to deliver and mark.

        Engine failures become the honest apology (once per kept message), never an
        exception; kept messages wait for the next call.
        """
        async with self._locks.for_conversation(conversation_id):
            return await self._answer_locked(conversation_id, up_to)

    async def accept_and_answer(
        self,
        *,
        conversation_id: str,
        channel: Channel,
        text: str,
        idle_after: timedelta | None = None,
    ) -> list[StoredMessage]:
        """For a request that waits for its own answer (the HTTP API): storing inside the
        conversation's lock means a later request cannot answer this one's message first
        and take its replies. With `idle_after`, a closed conversation (or one idle that
        long, closed now) raises ConversationClosed and stores nothing."""
        async with self._locks.for_conversation(conversation_id):
            loaded = await asyncio.to_thread(
                store_and_load_turn,
                self._session_factory,
                conversation_id=conversation_id,
                channel=channel,
                text=text,
                idle_after=idle_after,
            )
            if loaded is None:
                raise ConversationClosed(conversation_id)
            return await self._answer_loaded(conversation_id, *loaded)

    async def _answer_locked(self, conversation_id: str, up_to: int | None) -> list[StoredMessage]:
        loaded = await asyncio.to_thread(
            load_turn,
            self._session_factory,
            conversation_id=conversation_id,
            up_to=up_to,
        )
        return await self._answer_loaded(conversation_id, *loaded)

    async def _answer_loaded(
        self, conversation_id: str, channel: Channel, pending: list[Pending], route: Route
    ) -> list[StoredMessage]:
        produced: list[StoredMessage] = []
        for index, item in enumerate(pending):
            if index > 0:  # the first message's route came with the messages
                route = await asyncio.to_thread(
                    read_route, self._session_factory, conversation_id=conversation_id
                )
            paused = self._paused
            if paused is not None and (route.state != "bot" or paused.wants(item.text)):
                routed = await paused.handle(
                    conversation_id=conversation_id,
                    channel=channel,
                    state=route.state,
                    message_id=item.message_id,
                    text=item.text,
                )
                produced += routed.messages
                if not routed.pass_to_engine:
                    continue
                # The handoff side decided by the state as it is now: an agent may have
                # handed back meanwhile, so whether the engine is paused is read again too.
                route = await asyncio.to_thread(
                    read_route, self._session_factory, conversation_id=conversation_id
                )
            turn = None
            if not route.engine_paused or await self._resume(conversation_id, route.outcome):
                turn = await self._ask_engine(conversation_id, item)
            if turn is None:
                produced += await asyncio.to_thread(
                    keep_for_later,
                    self._session_factory,
                    conversation_id=conversation_id,
                    channel=channel,
                    pending=pending[index:],
                    apology=ENGINE_DOWN_REPLY,
                )
                break
            produced += await asyncio.to_thread(
                store_turn,
                self._session_factory,
                conversation_id=conversation_id,
                channel=channel,
                pending=item,
                turn=turn,
            )
            if paused is not None:
                produced += await paused.after_bot_turn(
                    conversation_id=conversation_id, channel=channel
                )
        return produced

    async def _resume(self, conversation_id: str, outcome: str) -> bool:
        """The engine paused the conversation for a person; it must hear it is back first."""
        try:
            await self._engine.resume(conversation_id=conversation_id, outcome=outcome)
        except EngineUnavailable as error:
            logger.warning("could not resume conversation %s: %s", conversation_id, error)
            return False
        await asyncio.to_thread(
            mark_resumed, self._session_factory, conversation_id=conversation_id
        )
        return True

    async def _ask_engine(self, conversation_id: str, item: Pending) -> EngineTurn | None:
        try:
            return await self._engine.send(
                conversation_id=conversation_id,
                text=item.text if item.pressed_button else text_for_engine(item.text),
                metadata={**item.metadata, GATEWAY_MESSAGE_ID: item.message_id},
            )
        except EngineUnavailable as error:
            logger.warning("engine unavailable for conversation %s: %s", conversation_id, error)
        except Exception:
            logger.exception("engine failed unexpectedly for conversation %s", conversation_id)
        return None
