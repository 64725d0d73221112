"""The surge's arrival signals, counted by the database: only conversations in which a
customer wrote are contacts, and the day's windows are bucketed in SQL exactly as in Python."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.handoff import HandoffPolicy
from bot.handoff.queue import contacts_per_window, snapshot
from bot.storage.tables import Conversation, Message, utc_now

POLICY = HandoffPolicy()
WINDOW = timedelta(minutes=POLICY.surge_window_minutes)
NOW = datetime(2026, 11, 20, 12, 7, 30, 250_000, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _conversation(session: Session, at: datetime, *, wrote: bool, bot_spoke: bool = False) -> None:
    """A conversation started at `at`; `wrote`: the customer sent a message in it."""
    conversation_id = uuid.uuid4().hex
    session.add(
        Conversation(
            id=conversation_id,
            token_hash="0" * 64,
            channel="webchat",
            state="bot",
            created_at=at,
            last_activity_at=at,
        )
    )
    session.flush()
    if bot_spoke:
        session.add(
            Message(
                conversation_id=conversation_id,
                direction="out",
                sender="bot",
                text="Hello! How can I help?",
                channel="webchat",
                created_at=at,
                delivery_state="delivered",
            )
        )
    if wrote:
        session.add(
            Message(
                conversation_id=conversation_id,
                direction="in",
                sender="customer",
                text="where is my order?",
                channel="webchat",
                created_at=at + timedelta(seconds=5),
                delivery_state="processed",
            )
        )


def _python_buckets(started: list[datetime], *, now: datetime, window: timedelta) -> list[int]:
    """How the queue bucketed contacts before the database did: every timestamp in Python."""
    windows = int(timedelta(days=1) / window)
    counts = [0] * windows
    for created_at in started:
        if not now - window * (windows + 1) <= created_at < now - window:
            continue
        index = int((now - window - created_at) / window)
        if 0 <= index < windows:
            counts[index] += 1
    return counts


def _fixed_contacts() -> list[datetime]:
    """Every edge of the windows, and a day and a half of ordinary traffic."""
    end = NOW - WINDOW
    edges = [
        end,  # the current window: not history
        end - MICROSECOND,
        end - WINDOW,
        end - WINDOW + MICROSECOND,
        end - WINDOW - MICROSECOND,
        end - WINDOW * 40,
        end - WINDOW * 95 - MICROSECOND,
        end - WINDOW * 96 + MICROSECOND,
        end - WINDOW * 96,  # exactly a day before: outside
        end - WINDOW * 97,
        NOW - timedelta(seconds=1),
        # Fractions that round up to the next second at millisecond precision.
        (end - WINDOW * 3).replace(microsecond=999_999),
        (end - WINDOW * 7).replace(microsecond=999_500),
    ]
    rng = random.Random(19)
    traffic = [
        NOW - timedelta(microseconds=rng.randrange(int(timedelta(hours=36) / MICROSECOND)))
        for _ in range(400)
    ]
    return edges + traffic


def test_the_database_buckets_contacts_exactly_as_python_did(
    session_factory: sessionmaker[Session],
) -> None:
    contacts = _fixed_contacts()
    rng = random.Random(8)
    with session_factory.begin() as session:
        for at in contacts:
            _conversation(session, at, wrote=True, bot_spoke=rng.random() < 0.5)
        # Page views and bare API conversations, even with the bot's greeting: no contact.
        for at in contacts[::3]:
            _conversation(session, at, wrote=False, bot_spoke=rng.random() < 0.5)

    with session_factory() as session:
        counts = contacts_per_window(session, now=NOW, window=WINDOW)

    expected = _python_buckets(contacts, now=NOW, window=WINDOW)
    assert len(counts) == 96
    assert counts == expected
    assert sum(expected) > 250  # the fixture really fills the day
    assert expected[0] >= 2 and expected[95] >= 1  # and both ends of it


def test_empty_conversations_do_not_make_a_surge(
    session_factory: sessionmaker[Session],
) -> None:
    now = utc_now()
    with session_factory.begin() as session:
        for minute in range(12):
            _conversation(session, now - timedelta(minutes=minute, seconds=30), wrote=False)

    with session_factory() as session:
        flooded = snapshot(session, policy=POLICY, active_incidents=0, now=now).surge

    assert not flooded.active, flooded.reasons


def test_conversations_in_which_customers_wrote_do_make_a_surge(
    session_factory: sessionmaker[Session],
) -> None:
    now = utc_now()
    with session_factory.begin() as session:
        for minute in range(12):
            _conversation(session, now - timedelta(minutes=minute, seconds=30), wrote=True)

    with session_factory() as session:
        surge = snapshot(session, policy=POLICY, active_incidents=0, now=now).surge

    assert surge.active and any("arrival rate" in reason for reason in surge.reasons)


def test_after_a_day_of_history_the_normal_rate_counts_only_contacts(
    session_factory: sessionmaker[Session],
) -> None:
    """A day of page views is no baseline: 12 real contacts now are still a surge against
    the few real contacts of the day before."""
    now = utc_now()
    with session_factory.begin() as session:
        for window in range(1, 97):
            at = now - WINDOW * window - timedelta(minutes=1)
            _conversation(session, at, wrote=window % 2 == 0)  # one contact every half hour
            for _ in range(10):
                _conversation(session, at, wrote=False)
        for minute in range(12):
            _conversation(session, now - timedelta(minutes=minute, seconds=30), wrote=True)

    with session_factory() as session:
        queue = snapshot(session, policy=POLICY, active_incidents=0, now=now)

    assert queue.surge.active and any("arrival rate" in r for r in queue.surge.reasons)
