"""The relay: stored first, engine second, honest apology when the engine is down,
kept messages answered in order once it is back."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.engine import BotReply
from bot.channels.relay import (
    ENGINE_DOWN_REPLY,
    ConversationLocks,
    Relay,
    invalid_text_reason,
)
from bot.storage.accounts import current_conversation, get_or_create_account
from bot.storage.conversations import create_conversation, list_messages
from bot.storage.tables import Button, ChannelAccount
from tests.support.engines import EngineCall, ScriptedEngine

_THIRTY_MINUTES = timedelta(minutes=30)
PERSONAL_TEXT = "my phone is 13800001234, mail li.wei@example.com"


def _new_conversation(session_factory: sessionmaker[Session]) -> str:
    with session_factory.begin() as session:
        return create_conversation(session, channel="api")[0].id


def _telegram_conversation(session_factory: sessionmaker[Session], chat_id: str) -> str:
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="telegram", external_id=chat_id)
        return current_conversation(
            session, account=account, idle_after=_THIRTY_MINUTES
        ).conversation.id


def _transcript(
    session_factory: sessionmaker[Session], conversation_id: str
) -> list[tuple[object, ...]]:
    with session_factory() as session:
        return [
            (m.direction, m.sender, m.text, m.buttons, m.delivery_state)
            for m in list_messages(session, conversation_id=conversation_id)
        ]


async def _say(relay: Relay, conversation_id: str, text: str, channel: str = "api") -> list[str]:
    accepted = await relay.accept(
        conversation_id=conversation_id,
        channel=channel,  # type: ignore[arg-type]
        text=text,
    )
    produced = await relay.answer(conversation_id=conversation_id, up_to=accepted.message.id)
    return [message.text or "" for message in produced]


async def test_message_is_stored_before_the_engine_sees_it_then_answered(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _new_conversation(session_factory)
    buttons: list[Button] = [{"title": "Track it", "payload": "/track_order"}]
    seen_while_thinking: list[list[tuple[object, ...]]] = []
    engine = ScriptedEngine(
        answer=lambda text: [BotReply(text="Let me check."), BotReply("Which?", buttons)],
        before_answer=lambda call: seen_while_thinking.append(
            _transcript(session_factory, call.conversation_id)
        ),
    )
    relay = Relay(session_factory=session_factory, engine=engine)

    accepted = await relay.accept(
        conversation_id=conversation_id, channel="api", text="Where is my order?"
    )
    produced = await relay.answer(conversation_id=conversation_id)

    assert not accepted.duplicate
    assert seen_while_thinking == [[("in", "customer", "Where is my order?", None, "received")]]
    assert engine.calls == [
        EngineCall(
            conversation_id,
            "Where is my order?",
            {
                "channel": "api",
                "conversation_id": conversation_id,
                "role": "customer",
                "report_intent": True,  # the desk's topic of this contact is not known yet
                # The engine repeats its answer to a message it already took in.
                "gateway_message_id": accepted.message.id,
            },
        )
    ]
    assert [(m.sender, m.text, m.buttons) for m in produced] == [
        ("bot", "Let me check.", []),
        ("bot", "Which?", buttons),
    ]
    # Stored "queued": the channel marks them delivered once the customer has them.
    assert _transcript(session_factory, conversation_id) == [
        ("in", "customer", "Where is my order?", None, "processed"),
        ("out", "bot", "Let me check.", None, "queued"),
        ("out", "bot", "Which?", buttons, "queued"),
    ]


@pytest.mark.parametrize("typed", ["/greet", '  /order_status{"order": "1"}'])
async def test_slash_text_reaches_the_engine_as_text_but_is_stored_as_typed(
    session_factory: sessionmaker[Session], typed: str
) -> None:
    conversation_id = _new_conversation(session_factory)
    engine = ScriptedEngine()

    await _say(Relay(session_factory=session_factory, engine=engine), conversation_id, typed)

    assert engine.calls[0].text == "\u200b" + typed
    assert _transcript(session_factory, conversation_id)[0][2] == typed


async def test_ordinary_text_reaches_the_engine_unchanged(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _new_conversation(session_factory)
    engine = ScriptedEngine(answer=lambda text: [])

    await _say(Relay(session_factory=session_factory, engine=engine), conversation_id, "50/50?")

    assert engine.calls[0].text == "50/50?"
    assert _transcript(session_factory, conversation_id) == [
        ("in", "customer", "50/50?", None, "processed")
    ]


@pytest.mark.parametrize("failure", ["down", "broken"])
async def test_engine_failure_keeps_the_message_pending_and_says_so(
    session_factory: sessionmaker[Session], failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    conversation_id = _new_conversation(session_factory)
    engine = ScriptedEngine(down=failure == "down", broken=failure == "broken")
    caplog.set_level(logging.DEBUG)

    said = await _say(
        Relay(session_factory=session_factory, engine=engine), conversation_id, PERSONAL_TEXT
    )

    assert said == [ENGINE_DOWN_REPLY]
    assert ENGINE_DOWN_REPLY == (
        "Sorry, we're having trouble answering right now. "
        "Your message is kept and we'll reply as soon as we're back."
    )
    assert _transcript(session_factory, conversation_id) == [
        ("in", "customer", PERSONAL_TEXT, None, "pending"),
        ("out", "system", ENGINE_DOWN_REPLY, None, "queued"),
    ]
    assert conversation_id in caplog.text
    assert "13800001234" not in caplog.text
    assert "li.wei@example.com" not in caplog.text


async def test_kept_messages_are_answered_in_order_once_the_engine_is_back(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _new_conversation(session_factory)
    engine = ScriptedEngine(down=True)
    relay = Relay(session_factory=session_factory, engine=engine)

    first = await _say(relay, conversation_id, "first")
    second = await _say(relay, conversation_id, "second")
    retried_while_down = await relay.answer(conversation_id=conversation_id)
    engine.down = False
    third = await _say(relay, conversation_id, "third")
    again = await relay.answer(conversation_id=conversation_id)

    # One apology per message when it is first kept; retrying while down says nothing.
    assert first == second == [ENGINE_DOWN_REPLY]
    assert retried_while_down == []
    # The next message waits behind the kept ones, which are answered first, in order.
    assert third == ["echo: first", "echo: second", "echo: third"]
    assert [call.text for call in engine.calls] == ["first", "second", "third"]
    assert again == []
    states = [(m[2], m[4]) for m in _transcript(session_factory, conversation_id)]
    assert states == [
        ("first", "processed"),
        (ENGINE_DOWN_REPLY, "queued"),
        ("second", "processed"),
        (ENGINE_DOWN_REPLY, "queued"),
        ("third", "processed"),
        ("echo: first", "queued"),
        ("echo: second", "queued"),
        ("echo: third", "queued"),
    ]


async def test_a_message_sent_twice_with_one_client_id_is_stored_and_answered_once(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _new_conversation(session_factory)
    engine = ScriptedEngine()
    relay = Relay(session_factory=session_factory, engine=engine)

    first = await relay.accept(
        conversation_id=conversation_id, channel="webchat", text="hi", client_message_id="c-000001"
    )
    await relay.answer(conversation_id=conversation_id)
    again = await relay.accept(
        conversation_id=conversation_id, channel="webchat", text="hi", client_message_id="c-000001"
    )
    await relay.answer(conversation_id=conversation_id)

    assert again.duplicate and not first.duplicate
    assert again.message.id == first.message.id
    assert len(engine.calls) == 1
    assert [m[2] for m in _transcript(session_factory, conversation_id)] == ["hi", "echo: hi"]


async def test_a_request_gets_the_replies_to_its_own_message(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _new_conversation(session_factory)
    relay = Relay(session_factory=session_factory, engine=ScriptedEngine(delay_seconds=0.05))

    async def say(text: str) -> list[str]:
        produced = await relay.accept_and_answer(
            conversation_id=conversation_id, channel="api", text=text
        )
        return [message.text or "" for message in produced]

    results = await asyncio.gather(*(say(t) for t in ("a", "b", "c")))

    assert sorted(results) == [["echo: a"], ["echo: b"], ["echo: c"]]


async def test_a_verified_telegram_customer_is_linked_and_told_to_the_engine_next_time(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _telegram_conversation(session_factory, "5001")
    engine = ScriptedEngine(verifies=lambda text: 42 if text == "4521" else None)
    relay = Relay(session_factory=session_factory, engine=engine)

    await _say(relay, conversation_id, "order 100245", channel="telegram")
    await _say(relay, conversation_id, "4521", channel="telegram")
    await _say(relay, conversation_id, "and my other order?", channel="telegram")

    assert [call.metadata.get("linked_customer_id") for call in engine.calls] == [None, None, 42]
    with session_factory() as session:
        account = session.query(ChannelAccount).filter_by(external_id="5001").one()
        assert account.customer_id == 42


async def test_web_chat_sessions_are_never_linked(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="webchat", external_id="browser-1")
        conversation_id = current_conversation(
            session, account=account, idle_after=_THIRTY_MINUTES
        ).conversation.id
    engine = ScriptedEngine(verifies=lambda text: 42)
    relay = Relay(session_factory=session_factory, engine=engine)

    await _say(relay, conversation_id, "4521", channel="webchat")
    await _say(relay, conversation_id, "again", channel="webchat")

    assert "linked_customer_id" not in engine.calls[1].metadata


async def test_messages_of_one_conversation_reach_the_engine_one_at_a_time(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _new_conversation(session_factory)
    engine = ScriptedEngine(delay_seconds=0.05)
    relay = Relay(session_factory=session_factory, engine=engine)

    await asyncio.gather(*(_say(relay, conversation_id, t) for t in ("first", "second", "third")))

    assert engine.most_active == 1
    states = [str(state) for *_, state in _transcript(session_factory, conversation_id)]
    assert sorted(states) == ["processed"] * 3 + ["queued"] * 3


async def test_different_conversations_do_not_wait_for_each_other(
    session_factory: sessionmaker[Session],
) -> None:
    conversations = [_new_conversation(session_factory) for _ in range(2)]
    engine = ScriptedEngine(delay_seconds=0.2)
    relay = Relay(session_factory=session_factory, engine=engine)

    await asyncio.gather(*(_say(relay, c, "hello") for c in conversations))

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
