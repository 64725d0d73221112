"""The desk's events are written where the conversation changes, with the right times, on
SQLite and PostgreSQL: a contact, its topic, a handoff from the queue to its end, the
rating, an idle ending; and nothing for staff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.idle_closer import IdleCloser
from bot.channels.relay import Relay
from bot.domain.handoff import HandoffPolicy
from bot.handoff.agents import add_agent
from bot.handoff.customer_side import HandoffRouter
from bot.handoff.queue import close, hand_back, leave, take
from bot.handoff.texts import CARRY_ON, LEAVE_MESSAGE
from bot.storage.conversations import add_message, create_conversation
from bot.storage.desk_events import record_event
from bot.storage.ops_tables import DeskEvent
from bot.storage.tables import Agent, Conversation, Handoff
from tests.support.engines import ScriptedEngine
from tests.support.queue import customer_asked

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def after(self, seconds: float) -> datetime:
        self.now = START + timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """Every module that stamps a time in these flows reads this clock."""
    fake = Clock()
    for module in ("bot.storage.conversations", "bot.handoff.queue", "bot.storage.desk_events"):
        monkeypatch.setattr(f"{module}.utc_now", fake)
    yield fake


def _events(session_factory: sessionmaker[Session], conversation_id: str) -> list[dict[str, Any]]:
    with session_factory() as session:
        rows = session.scalars(
            sa.select(DeskEvent)
            .where(DeskEvent.conversation_id == conversation_id)
            .order_by(DeskEvent.id)
        )
        return [
            {
                "kind": row.kind,
                "seconds": (row.at - START).total_seconds(),
                "handoff": row.handoff_id,
                "agent": row.agent_id,
                "value": row.value,
                "channel": row.channel,
                "intent": row.intent,
            }
            for row in rows
        ]


def _kinds(session_factory: sessionmaker[Session], conversation_id: str) -> list[str]:
    return [event["kind"] for event in _events(session_factory, conversation_id)]


def _conversation(session_factory: sessionmaker[Session], *, staff: int | None = None) -> str:
    with session_factory.begin() as session:
        conversation, _ = create_conversation(session, channel="webchat")
        conversation.staff_id = staff
        return conversation.id


def _say(session_factory: sessionmaker[Session], conversation_id: str, sender: str) -> None:
    with session_factory.begin() as session:
        add_message(
            session,
            conversation_id=conversation_id,
            direction="in" if sender == "customer" else "out",
            sender=sender,  # type: ignore[arg-type]
            text="hello",
            channel="webchat",
            delivery_state="processed" if sender == "customer" else "queued",
        )


def _agent(session_factory: sessionmaker[Session], name: str = "mei") -> Agent:
    with session_factory.begin() as session:
        agent = add_agent(session, username=name, display_name=name, password="a long password")
        session.expunge(agent)
        return agent


def _queue(session_factory: sessionmaker[Session], conversation_id: str) -> int:
    with session_factory.begin() as session:
        return customer_asked(session, conversation_id=conversation_id).id


def _end(session_factory: sessionmaker[Session], handoff_id: int, how: str) -> None:
    with session_factory.begin() as session:
        handoff = session.get(Handoff, handoff_id)
        assert handoff is not None
        if how == "close":
            close(session, handoff=handoff, resolution="resolved")
        elif how == "hand back":
            hand_back(session, handoff=handoff)
        else:
            leave(session, handoff=handoff, callback=how == "callback")


def test_an_assigned_and_closed_handoff_records_its_times(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    """Opened at 0 s, queued at 60 s, taken at 80 s, first agent message at 150 s (90 s
    after the handoff), a second one at 200 s, closed at 900 s (900 s after opening)."""
    agent = _agent(session_factory)
    conversation_id = _conversation(session_factory)
    _say(session_factory, conversation_id, "customer")
    clock.after(30)
    _say(session_factory, conversation_id, "customer")  # a second message opens nothing
    _say(session_factory, conversation_id, "bot")
    clock.after(60)
    handoff_id = _queue(session_factory, conversation_id)
    clock.after(80)
    with session_factory.begin() as session:
        take(session, handoff_id=handoff_id, agent=agent, active_chats=0)
    clock.after(150)
    _say(session_factory, conversation_id, "agent")
    clock.after(200)
    _say(session_factory, conversation_id, "agent")
    clock.after(900)
    _end(session_factory, handoff_id, "close")

    events = _events(session_factory, conversation_id)
    assert [(e["kind"], e["seconds"], e["value"]) for e in events] == [
        ("opened", 0, None),
        ("handed_off", 60, None),
        ("agent_first_reply", 150, 90),
        ("resolved", 900, 900),
        ("survey_sent", 900, None),
    ]
    assert {e["channel"] for e in events} == {"webchat"}
    assert [e["handoff"] for e in events[1:]] == [handoff_id] * 4
    assert [e["agent"] for e in events[2:4]] == [agent.id, agent.id]


@pytest.mark.parametrize(
    ("how", "kind"), [("leave", "abandoned"), ("callback", "callback"), ("hand back", "resolved")]
)
def test_how_a_handoff_ended(
    session_factory: sessionmaker[Session], clock: Clock, how: str, kind: str
) -> None:
    conversation_id = _conversation(session_factory)
    _say(session_factory, conversation_id, "customer")
    clock.after(100)
    handoff_id = _queue(session_factory, conversation_id)
    if how == "hand back":
        with session_factory.begin() as session:
            take(session, handoff_id=handoff_id, agent=_agent(session_factory), active_chats=0)
    clock.after(340)
    _end(session_factory, handoff_id, how)

    last = _events(session_factory, conversation_id)[-1]
    # A wait is counted from the handoff; a resolution from the contact's first message.
    assert (last["kind"], last["seconds"]) == (kind, 340)
    assert last["value"] == (340 if how == "hand back" else 240)


async def test_the_customer_leaving_the_queue_and_rating_go_through_the_router(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    """The queue's own buttons (bot/handoff/customer_side.py) and a rating after a close."""
    relay = Relay(
        session_factory=session_factory,
        engine=ScriptedEngine(),
        paused=HandoffRouter(
            session_factory=session_factory,
            policy=HandoffPolicy(),
            notify_agents=_ignore,
            active_incidents=_none,
        ),
    )

    async def say(conversation_id: str, text: str) -> None:
        accepted = await relay.accept(conversation_id=conversation_id, channel="webchat", text=text)
        await relay.answer(conversation_id=conversation_id, up_to=accepted.message.id)

    carried_on, waits_for_a_call = _conversation(session_factory), _conversation(session_factory)
    for conversation_id in (carried_on, waits_for_a_call):
        await say(conversation_id, "I want a person")
        _queue(session_factory, conversation_id)
    await say(carried_on, CARRY_ON)
    await say(waits_for_a_call, LEAVE_MESSAGE)
    assert _kinds(session_factory, carried_on) == ["opened", "handed_off", "abandoned"]
    assert _kinds(session_factory, waits_for_a_call) == ["opened", "handed_off", "callback"]

    rated = _conversation(session_factory)
    await say(rated, "I want a person")
    handoff_id = _queue(session_factory, rated)
    with session_factory.begin() as session:
        take(session, handoff_id=handoff_id, agent=_agent(session_factory), active_chats=0)
    _end(session_factory, handoff_id, "close")
    await say(rated, "4")
    events = _events(session_factory, rated)
    assert [e["kind"] for e in events][-2:] == ["survey_sent", "rated"]
    assert (events[-1]["value"], events[-1]["handoff"]) == (4, handoff_id)


async def _ignore(event: dict[str, Any], *, agent_id: int | None = None) -> None:
    return None


async def _none() -> int:
    return 0


async def test_the_first_topic_the_engine_reads_once_asked(
    session_factory: sessionmaker[Session],
) -> None:
    """The gateway asks for the intent until a contact has a topic, and only then."""
    engine = ScriptedEngine(
        reads_intent=lambda text: {"hi": "greet", "where is it": "order_status"}.get(text)
    )
    relay = Relay(session_factory=session_factory, engine=engine)
    conversation_id = _conversation(session_factory)
    for text in ("hi", "where is it", "thanks, and my refund?"):
        accepted = await relay.accept(conversation_id=conversation_id, channel="webchat", text=text)
        await relay.answer(conversation_id=conversation_id, up_to=accepted.message.id)

    asked = [call.metadata.get("report_intent") for call in engine.calls]
    assert asked == [True, True, None]
    events = _events(session_factory, conversation_id)
    assert [(e["kind"], e["intent"]) for e in events] == [
        ("opened", None),
        ("intent", "order_status"),
    ]


def test_an_idle_contact_the_bot_kept_to_the_end_is_bot_resolved(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    kept, handed, silent = (_conversation(session_factory) for _ in range(3))
    for conversation_id in (kept, handed):
        _say(session_factory, conversation_id, "customer")
    handoff_id = _queue(session_factory, handed)
    _end(session_factory, handoff_id, "leave")  # back with the bot, but a person was asked
    closer = IdleCloser(
        session_factory=session_factory, idle_after=timedelta(minutes=30), interval_seconds=60
    )

    assert closer.sweep(now=START + timedelta(minutes=29)) == 0
    assert closer.sweep(now=START + timedelta(minutes=31)) == 3
    assert closer.sweep(now=START + timedelta(minutes=32)) == 0  # closed once

    assert _kinds(session_factory, kept) == ["opened", "bot_resolved"]
    assert _events(session_factory, kept)[-1]["seconds"] == 31 * 60
    assert "bot_resolved" not in _kinds(session_factory, handed)
    assert _kinds(session_factory, silent) == []  # nobody wrote: no contact
    with session_factory() as session:
        assert session.get(Conversation, silent).close_reason == "idle"  # type: ignore[union-attr]


def test_a_conversation_with_a_person_is_not_idle(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    conversation_id = _conversation(session_factory)
    _say(session_factory, conversation_id, "customer")
    _queue(session_factory, conversation_id)
    closer = IdleCloser(
        session_factory=session_factory, idle_after=timedelta(minutes=30), interval_seconds=60
    )
    assert closer.sweep(now=START + timedelta(hours=5)) == 0


def test_staff_talking_to_the_bot_leave_no_events(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    member = _agent(session_factory, "chen")
    conversation_id = _conversation(session_factory, staff=member.id)
    _say(session_factory, conversation_id, "customer")
    handoff_id = _queue(session_factory, conversation_id)
    _end(session_factory, handoff_id, "leave")
    assert _kinds(session_factory, conversation_id) == []


def test_an_event_rolls_back_with_the_change_it_records(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    conversation_id = _conversation(session_factory)
    with pytest.raises(RuntimeError), session_factory.begin() as session:
        customer_asked(session, conversation_id=conversation_id)
        raise RuntimeError("the handoff's transaction fails after the event was added")
    assert _kinds(session_factory, conversation_id) == []
    with pytest.raises(ValueError), session_factory.begin() as session:
        record_event(session, kind="handedoff", conversation_id=conversation_id)
