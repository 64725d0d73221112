"""The relay: stored first, engine second, honest apology when the engine is down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.engine import BotReply, EngineUnavailable
from bot.channels.relay import (
    ENGINE_DOWN_REPLY,
    ConversationLocks,
    invalid_text_reason,
    relay_customer_message,
)
from bot.storage.conversations import create_conversation, list_messages
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.storage.tables import Button

PERSONAL_TEXT = "my phone is 13800001234, mail li.wei@example.com"


@dataclass
class EngineCall:
    conversation_id: str
    text: str
    metadata: dict[str, object]
    # What the database held for this conversation while the engine was thinking.
    stored_states: list[tuple[str | None, str]]


@dataclass
class RecordingEngine:
    """Answers with `replies` and records what it was sent and what was already stored."""

    session_factory: sessionmaker[Session]
    replies: list[BotReply] = field(default_factory=list)
    delay_seconds: float = 0.0
    calls: list[EngineCall] = field(default_factory=list)
    active: int = 0
    most_active: int = 0

    async def send(
        self, *, conversation_id: str, text: str, metadata: dict[str, object]
    ) -> list[BotReply]:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        with self.session_factory() as session:
            stored = [
                (m.text, m.delivery_state)
                for m in list_messages(session, conversation_id=conversation_id)
            ]
        self.calls.append(EngineCall(conversation_id, text, metadata, stored))
        await asyncio.sleep(self.delay_seconds)
        self.active -= 1
        return self.replies


class UnreachableEngine:
    async def send(
        self, *, conversation_id: str, text: str, metadata: dict[str, object]
    ) -> list[BotReply]:
        raise EngineUnavailable("engine unreachable (ConnectError)")


class BrokenEngine:
    async def send(
        self, *, conversation_id: str, text: str, metadata: dict[str, object]
    ) -> list[BotReply]:
        raise RuntimeError("a bug in an engine adapter")


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    upgrade(database_url, schema="shopdesk")
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _new_conversation(session_factory: sessionmaker[Session]) -> str:
    with session_factory.begin() as session:
        return create_conversation(session, channel="api")[0].id


def _transcript(
    session_factory: sessionmaker[Session], conversation_id: str
) -> list[tuple[object, ...]]:
    with session_factory() as session:
        return [
            (m.direction, m.sender, m.text, m.buttons, m.delivery_state)
            for m in list_messages(session, conversation_id=conversation_id)
        ]


async def test_message_is_stored_before_the_engine_sees_it_then_answered(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _new_conversation(session_factory)
    buttons: list[Button] = [{"title": "Track it", "payload": "/track_order"}]
    engine = RecordingEngine(
        session_factory, replies=[BotReply(text="Let me check."), BotReply("Which?", buttons)]
    )

    outcome = await relay_customer_message(
        session_factory=session_factory,
        engine=engine,
        locks=ConversationLocks(),
        conversation_id=conversation_id,
        channel="api",
        text="Where is my order?",
    )

    [call] = engine.calls
    assert call.stored_states == [("Where is my order?", "received")]
    assert call.metadata == {
        "channel": "api",
        "conversation_id": conversation_id,
        "role": "customer",
    }
    assert call.conversation_id == conversation_id
    assert outcome.engine_answered
    assert outcome.replies == [BotReply(text="Let me check."), BotReply("Which?", buttons)]
    assert _transcript(session_factory, conversation_id) == [
        ("in", "customer", "Where is my order?", None, "processed"),
        ("out", "bot", "Let me check.", None, "sent"),
        ("out", "bot", "Which?", buttons, "sent"),
    ]


@pytest.mark.parametrize("typed", ["/greet", '  /order_status{"order": "1"}'])
async def test_slash_text_reaches_the_engine_as_text_but_is_stored_as_typed(
    session_factory: sessionmaker[Session], typed: str
) -> None:
    conversation_id = _new_conversation(session_factory)
    engine = RecordingEngine(session_factory, replies=[BotReply(text="Sorry?")])

    await relay_customer_message(
        session_factory=session_factory,
        engine=engine,
        locks=ConversationLocks(),
        conversation_id=conversation_id,
        channel="api",
        text=typed,
    )

    assert engine.calls[0].text == "\u200b" + typed
    assert _transcript(session_factory, conversation_id)[0][2] == typed


async def test_ordinary_text_reaches_the_engine_unchanged(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _new_conversation(session_factory)
    engine = RecordingEngine(session_factory)

    await relay_customer_message(
        session_factory=session_factory,
        engine=engine,
        locks=ConversationLocks(),
        conversation_id=conversation_id,
        channel="api",
        text="refund 50/50?",
    )

    assert engine.calls[0].text == "refund 50/50?"
    assert _transcript(session_factory, conversation_id) == [
        ("in", "customer", "refund 50/50?", None, "processed")
    ]


@pytest.mark.parametrize("engine", [UnreachableEngine(), BrokenEngine()], ids=["down", "broken"])
async def test_engine_failure_keeps_the_message_pending_and_says_so(
    session_factory: sessionmaker[Session], engine: object, caplog: pytest.LogCaptureFixture
) -> None:
    conversation_id = _new_conversation(session_factory)
    caplog.set_level(logging.DEBUG)

    outcome = await relay_customer_message(
        session_factory=session_factory,
        engine=engine,  # type: ignore[arg-type]
        locks=ConversationLocks(),
        conversation_id=conversation_id,
        channel="api",
        text=PERSONAL_TEXT,
    )

    assert not outcome.engine_answered
    assert outcome.replies == [BotReply(text=ENGINE_DOWN_REPLY)]
    assert ENGINE_DOWN_REPLY == (
        "Sorry, we're having trouble answering right now. "
        "Your message is saved and we'll reply as soon as we can."
    )
    assert _transcript(session_factory, conversation_id) == [
        ("in", "customer", PERSONAL_TEXT, None, "pending"),
        ("out", "system", ENGINE_DOWN_REPLY, None, "sent"),
    ]
    assert conversation_id in caplog.text
    assert "13800001234" not in caplog.text
    assert "li.wei@example.com" not in caplog.text


async def test_messages_of_one_conversation_reach_the_engine_one_at_a_time(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _new_conversation(session_factory)
    engine = RecordingEngine(session_factory, replies=[BotReply("ok")], delay_seconds=0.05)
    locks = ConversationLocks()

    await asyncio.gather(
        *(
            relay_customer_message(
                session_factory=session_factory,
                engine=engine,
                locks=locks,
                conversation_id=conversation_id,
                channel="api",
                text=text,
            )
            for text in ("first", "second", "third")
        )
    )

    assert engine.most_active == 1
    # Each call saw every earlier message already answered.
    assert [len(call.stored_states) for call in engine.calls] == [1, 3, 5]
    states = [state for *_, state in _transcript(session_factory, conversation_id)]
    assert states == ["processed", "sent"] * 3


async def test_different_conversations_do_not_wait_for_each_other(
    session_factory: sessionmaker[Session],
) -> None:
    conversations = [_new_conversation(session_factory) for _ in range(2)]
    engine = RecordingEngine(session_factory, replies=[BotReply("ok")], delay_seconds=0.2)
    locks = ConversationLocks()

    await asyncio.gather(
        *(
            relay_customer_message(
                session_factory=session_factory,
                engine=engine,
                locks=locks,
                conversation_id=conversation_id,
                channel="api",
                text="hello",
            )
            for conversation_id in conversations
        )
    )

    assert engine.most_active == 2


def test_locks_are_shared_per_conversation_while_in_use() -> None:
    locks = ConversationLocks()
    held = locks.for_conversation("a")

    assert locks.for_conversation("a") is held
    assert locks.for_conversation("b") is not held


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "text must not be empty"),
        (" \n\t ", "text must not be empty"),
        ("a" * 2001, "text is longer than 2000 characters"),
        ("nul\x00byte", "text must not contain control characters other than newline and tab"),
        ("bell\x07", "text must not contain control characters other than newline and tab"),
        ("escape\x1b[31m", "text must not contain control characters other than newline and tab"),
        ("lone \ud800 surrogate", "text must not contain unpaired surrogate characters"),
    ],
)
def test_unacceptable_texts_are_explained(text: str, reason: str) -> None:
    assert invalid_text_reason(text, max_chars=2000) == reason


@pytest.mark.parametrize(
    "text", ["a" * 2000, "line one\nline two\r\n\tindented", "订单 10023 到哪了？🚚", "/start"]
)
def test_ordinary_texts_are_accepted(text: str) -> None:
    assert invalid_text_reason(text, max_chars=2000) is None
