"""Staff talking to the bot (the Ops chat, a linked Telegram chat) are no customer contacts:
the surge rule does not count them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.handoff import HandoffPolicy
from bot.handoff.queue import contacts_per_window, snapshot
from bot.storage.tables import Agent, Conversation, Message, utc_now

POLICY = HandoffPolicy()
WINDOW = timedelta(minutes=POLICY.surge_window_minutes)


def _member(session: Session) -> int:
    agent = Agent(username="mei", display_name="Mei Lin", password_hash="-", role="ops")
    session.add(agent)
    session.flush()
    return agent.id


def _wrote(session: Session, at: datetime, channel: str, staff_id: int | None) -> None:
    conversation_id = uuid.uuid4().hex
    session.add(
        Conversation(
            id=conversation_id,
            token_hash="0" * 64,
            channel=channel,
            state="bot",
            created_at=at,
            last_activity_at=at,
            staff_id=staff_id,
        )
    )
    session.flush()
    session.add(
        Message(
            conversation_id=conversation_id,
            direction="in",
            sender="customer",
            text="which incidents are active?",
            channel=channel,
            created_at=at + timedelta(seconds=5),
            delivery_state="processed",
        )
    )


def _twelve_in_a_window(session_factory: sessionmaker[Session], *, staff: bool) -> bool:
    now = utc_now()
    with session_factory.begin() as session:
        mei = _member(session)
        for minute in range(12):
            channel = "console" if minute % 2 else "telegram"
            at = now - timedelta(minutes=minute, seconds=30)
            _wrote(session, at, channel, mei if staff else None)
    with session_factory() as session:
        return snapshot(session, policy=POLICY, active_incidents=0, now=now).surge.active


def test_staff_asking_the_bot_make_no_surge(session_factory: sessionmaker[Session]) -> None:
    assert not _twelve_in_a_window(session_factory, staff=True)


def test_the_same_conversations_from_customers_do(session_factory: sessionmaker[Session]) -> None:
    assert _twelve_in_a_window(session_factory, staff=False)


def test_staff_conversations_are_not_in_the_days_contacts(
    session_factory: sessionmaker[Session],
) -> None:
    now = utc_now()
    at = now - WINDOW * 3
    with session_factory.begin() as session:
        mei = _member(session)
        _wrote(session, at, "console", mei)
        _wrote(session, at, "telegram", mei)
        _wrote(session, at, "telegram", None)

    with session_factory() as session:
        counts = contacts_per_window(session, now=now, window=WINDOW)

    assert sum(counts) == 1
