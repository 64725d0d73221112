"""Storage functions for the human queue: enqueue, take, hand back, close, leave.

Each changes the handoff and its conversation's state together, in the caller's
transaction, so the gateway never routes a message by a state that is half
written. The rules (priority, waits, surge) are in bot/domain/handoff.py and
bot/domain/waiting.py; this module only feeds them facts from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.domain.handoff import (
    HandoffPolicy,
    HandoffReason,
    QueueEntryFacts,
    SurgeSignals,
    SurgeState,
    normal_arrival_rate,
    order_queue,
    priority_score,
    surge_state,
)
from bot.domain.waiting import (
    WaitAnnouncement,
    announce_wait,
    expected_wait_at_position,
    expected_wait_new_arrival,
    mean_handle_minutes,
)
from bot.storage.conversations import lock_conversation
from bot.storage.desk_events import record_handed_off, record_handoff_end
from bot.storage.tables import Agent, Conversation, Handoff, Message, utc_now

OPEN_STATES = ("waiting", "assigned")
RESOLUTIONS = ("resolved", "refund_issued", "replacement_sent", "escalated", "no_response", "other")
DEFAULT_HANDLE_MINUTES = 6.0
NORMAL_CONTACTS_PER_HOUR = 12.0  # until there is a day of history to measure it


class HandoffConflict(Exception):
    """The handoff is not in a state that allows this (taken by someone else, say)."""


def _facts(handoff: Handoff) -> QueueEntryFacts:
    return QueueEntryFacts(
        reason=HandoffReason(handoff.reason),
        enqueued_at=handoff.enqueued_at,
        verified=handoff.verified,
        affected_by_active_incident=handoff.affected_by_incident,
        order_value=handoff.order_value,
        conversation_id=handoff.conversation_id,
    )


def _set_conversation_state(session: Session, conversation_id: str, state: str) -> None:
    session.execute(
        sa.update(Conversation).where(Conversation.id == conversation_id).values(state=state)
    )


def _locked(session: Session, handoff: Handoff) -> Handoff:
    """The handoff as it is now, read under its conversation's lock.

    The customer side routes each message by the conversation's state read under the same
    lock (bot/handoff/customer_side.py), so a message and an agent's take, hand-back or
    close happen one after the other: the message goes where the state says at its turn.
    """
    lock_conversation(session, conversation_id=handoff.conversation_id)
    session.refresh(handoff)
    return handoff


def enqueue(
    session: Session,
    *,
    conversation_id: str,
    reason: HandoffReason,
    reason_detail: str,
    summary: dict[str, Any],
    verified: bool,
    affected_by_incident: bool,
    order_value: Decimal | None,
) -> Handoff:
    """One open handoff per conversation: asking again keeps the place in the queue."""
    lock_conversation(session, conversation_id=conversation_id)
    existing = open_handoff(session, conversation_id=conversation_id)
    if existing is not None:
        return existing
    handoff = Handoff(
        conversation_id=conversation_id,
        reason=reason.value,
        reason_detail=reason_detail[:200],
        summary=summary,
        verified=verified,
        affected_by_incident=affected_by_incident,
        order_value=order_value,
        state="waiting",
        enqueued_at=utc_now(),
    )
    session.add(handoff)
    _set_conversation_state(session, conversation_id, "queued")
    session.flush()
    record_handed_off(session, handoff)
    return handoff


def open_handoff(session: Session, *, conversation_id: str) -> Handoff | None:
    return session.scalars(
        sa.select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.state.in_(OPEN_STATES))
        .order_by(Handoff.id.desc())
    ).first()


def get_handoff(session: Session, *, handoff_id: int) -> Handoff | None:
    return session.get(Handoff, handoff_id)


def take(session: Session, *, handoff_id: int, agent: Agent, active_chats: int) -> Handoff:
    """One conditional UPDATE, so two agents taking at once cannot both win, on any database."""
    if active_chats >= agent.capacity:
        raise HandoffConflict(f"you already have {active_chats} conversations, your capacity")
    found = session.get(Handoff, handoff_id)
    if found is None:
        raise LookupError(f"no handoff {handoff_id}")
    lock_conversation(session, conversation_id=found.conversation_id)
    taken = session.execute(
        sa.update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.state == "waiting")
        .values(state="assigned", agent_id=agent.id, assigned_at=utc_now())
    )
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    if handoff is None:
        raise LookupError(f"no handoff {handoff_id}")
    if not getattr(taken, "rowcount", 0):
        raise HandoffConflict("someone else took this conversation, or the customer left")
    _set_conversation_state(session, handoff.conversation_id, "agent")
    session.flush()
    return handoff


def _end(session: Session, handoff: Handoff, *, state: str, conversation_state: str) -> Handoff:
    handoff.state = state
    handoff.ended_at = utc_now()
    _set_conversation_state(session, handoff.conversation_id, conversation_state)
    session.flush()
    record_handoff_end(session, handoff)
    return handoff


def hand_back(session: Session, *, handoff: Handoff) -> Handoff:
    if _locked(session, handoff).state != "assigned":
        raise HandoffConflict("only a conversation you have taken can be handed back")
    return _end(session, handoff, state="returned", conversation_state="bot")


def close(session: Session, *, handoff: Handoff, resolution: str) -> Handoff:
    if _locked(session, handoff).state != "assigned":
        raise HandoffConflict("only a conversation you have taken can be closed")
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    handoff.resolution = resolution
    return _end(session, handoff, state="closed", conversation_state="rating")


def leave(session: Session, *, handoff: Handoff, callback: bool = False) -> Handoff:
    """The customer gave up waiting: for the bot ("left") or for a call-back ("callback")."""
    if _locked(session, handoff).state != "waiting":
        raise HandoffConflict("the conversation is no longer waiting")
    return _end(
        session,
        handoff,
        state="callback" if callback else "left",
        conversation_state="callback" if callback else "bot",
    )


@dataclass(frozen=True)
class QueueSnapshot:
    """The queue as customers and agents see it at one moment."""

    waiting: list[Handoff]  # highest priority first
    scores: dict[int, float]
    agents_available: int
    slots: int
    busy_slots: int
    mean_handle_minutes: float
    arrival_rate_per_min: float
    surge: SurgeState
    policy: HandoffPolicy

    def position(self, handoff_id: int) -> int | None:
        for index, handoff in enumerate(self.waiting, start=1):
            if handoff.id == handoff_id:
                return index
        return None

    def wait_minutes_at(self, position: int) -> float | None:
        return expected_wait_at_position(
            position=position,
            mean_handle_min=self.mean_handle_minutes,
            agents=self.slots,
            chats_per_agent=1,
            busy_slots=self.busy_slots,
        )

    def announcement(self, handoff_id: int) -> WaitAnnouncement | None:
        position = self.position(handoff_id)
        if position is None:
            return None
        return announce_wait(
            self.policy,
            position=position,
            wait_minutes=self.wait_minutes_at(position),
            agents_online=self.agents_available,
        )

    def expected_wait_for_new_arrival(self) -> float | None:
        if not self.slots:
            return None
        by_position = self.wait_minutes_at(len(self.waiting) + 1)
        steady = expected_wait_new_arrival(
            arrival_rate_per_min=self.arrival_rate_per_min,
            mean_handle_min=self.mean_handle_minutes,
            agents=self.slots,
            chats_per_agent=1,
        )
        candidates = [w for w in (by_position, steady) if w is not None]
        return max(candidates) if candidates else None


def _measured_handling_minutes(session: Session) -> list[float]:
    rows = session.execute(
        sa.select(Handoff.assigned_at, Handoff.ended_at)
        .where(Handoff.state.in_(("returned", "closed")), Handoff.assigned_at.is_not(None))
        .order_by(Handoff.ended_at.desc())
        .limit(50)
    ).all()
    return [
        (ended - assigned).total_seconds() / 60
        for assigned, ended in reversed(rows)
        if assigned is not None and ended is not None
    ]


class _EpochMicroseconds(FunctionElement[int]):
    """Whole microseconds since 1970 of a stored UTC time, on SQLite and PostgreSQL alike.

    Integers, so that the database puts a contact into exactly the window Python would:
    SQLite stores these columns as text and PostgreSQL as timestamptz, and neither's
    floating-point epoch is exact to the microsecond.
    """

    type = sa.BigInteger()
    name = "epoch_microseconds"
    inherit_cache = True


@compiles(_EpochMicroseconds, "postgresql")
def _epoch_microseconds_postgresql(
    element: _EpochMicroseconds, compiler: SQLCompiler, **kw: Any
) -> str:
    (column,) = element.clauses
    # EXTRACT(EPOCH ...) is an exact numeric: times 10^6 it is already whole.
    whole = sa.func.round(sa.extract("epoch", column) * 1_000_000)
    return f"({compiler.process(sa.cast(whole, sa.BigInteger), **kw)})"


@compiles(_EpochMicroseconds, "sqlite")
def _epoch_microseconds_sqlite(
    element: _EpochMicroseconds, compiler: SQLCompiler, **kw: Any
) -> str:
    (column,) = element.clauses
    # The text is "YYYY-MM-DD HH:MM:SS.ffffff". SQLite's date functions round fractions to
    # milliseconds (".999999" would become the next second), so they get the whole seconds
    # alone and the six digits of microseconds are added as they are.
    seconds = sa.cast(sa.func.strftime("%s", sa.func.substr(column, 1, 19)), sa.BigInteger)
    microseconds = sa.cast(sa.func.substr(column, 21, 6), sa.BigInteger)
    return f"({compiler.process(seconds * 1_000_000 + microseconds, **kw)})"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _customer_wrote() -> sa.ColumnElement[bool]:
    """A contact is a conversation in which the customer wrote: opening the chat page, or a
    bare POST /api/conversations, costs nothing and must not count toward a surge. Staff
    asking the bot (the Ops chat, a linked Telegram chat) are no customers."""
    return sa.and_(
        Conversation.staff_id.is_(None),
        sa.exists().where(
            Message.conversation_id == Conversation.id,
            Message.direction == "in",
            Message.sender == "customer",
        ),
    )


def _contacts_between(session: Session, start: datetime, end: datetime) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Conversation)
            .where(
                Conversation.created_at >= start, Conversation.created_at < end, _customer_wrote()
            )
        )
        or 0
    )


def contacts_per_window(session: Session, *, now: datetime, window: timedelta) -> list[int]:
    """Contacts in each of the past day's windows before the current one, most recent first.

    Counted by the database, which hands back one row per window that had any (at most
    96), not a timestamp per conversation: a flood of conversations does not become a
    flood of rows read into every queue view.
    """
    windows = int(timedelta(days=1) / window)
    end = now - window
    window_us = window // _MICROSECOND
    end_us = (end - _EPOCH) // _MICROSECOND
    # Every counted time is before `end`: both operands are positive integers, so the
    # integer division ("//", plain "/" in SQL) is the floor, on both databases.
    bucket = (sa.literal(end_us, sa.BigInteger) - _EpochMicroseconds(Conversation.created_at)) // (
        sa.literal(window_us, sa.BigInteger)
    )
    contacts = (
        sa.select(bucket.label("bucket"))
        .where(
            Conversation.created_at > end - window * windows,
            Conversation.created_at < end,
            _customer_wrote(),
        )
        .subquery()
    )
    counts = [0] * windows
    for index, count in session.execute(
        sa.select(contacts.c.bucket, sa.func.count()).group_by(contacts.c.bucket)
    ):
        if 0 <= index < windows:
            counts[int(index)] = int(count)
    return counts


def _normal_contact_rate(session: Session, *, now: datetime, window: timedelta) -> float:
    """The median rate over the past day's windows (before the current one); a default
    until a day has been seen."""
    first = session.scalar(sa.select(sa.func.min(Conversation.created_at)))
    if first is None or now - first < timedelta(days=1):
        return NORMAL_CONTACTS_PER_HOUR / 60
    counts = contacts_per_window(session, now=now, window=window)
    return normal_arrival_rate(counts, window.total_seconds() / 60)


def snapshot(
    session: Session, *, policy: HandoffPolicy, active_incidents: int, now: datetime | None = None
) -> QueueSnapshot:
    moment = now or utc_now()
    waiting = list(session.scalars(sa.select(Handoff).where(Handoff.state == "waiting")))
    facts = {handoff.conversation_id: handoff for handoff in waiting}
    ordered = [
        facts[f.conversation_id] for f in order_queue([_facts(h) for h in waiting], now=moment)
    ]
    available = list(session.scalars(sa.select(Agent).where(Agent.status == "available")))
    busy = int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Handoff)
            .join(Agent, Agent.id == Handoff.agent_id)
            .where(Handoff.state == "assigned", Agent.status == "available")
        )
        or 0
    )
    window = timedelta(minutes=policy.surge_window_minutes)
    arrivals = _contacts_between(session, moment - window, moment + timedelta(seconds=1))
    handoff_arrivals = int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Handoff)
            .where(Handoff.enqueued_at >= moment - window)
        )
        or 0
    )
    signals = SurgeSignals(
        arrivals_in_window=arrivals,
        window_minutes=window.total_seconds() / 60,
        normal_rate_per_min=_normal_contact_rate(session, now=moment, window=window),
        queue_length=len(waiting),
        active_incidents=active_incidents,
    )
    return QueueSnapshot(
        waiting=ordered,
        scores={h.id: priority_score(_facts(h), now=moment) for h in waiting},
        agents_available=len(available),
        slots=sum(agent.capacity for agent in available),
        busy_slots=busy,
        mean_handle_minutes=mean_handle_minutes(
            _measured_handling_minutes(session), default=DEFAULT_HANDLE_MINUTES
        ),
        arrival_rate_per_min=handoff_arrivals / (window.total_seconds() / 60),
        surge=surge_state(policy, signals),
        policy=policy,
    )
