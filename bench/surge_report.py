"""What `make bench-surge` measured, read back from the gateway's database, and printed.

The database is the authority: whether a conversation was queued, when it was queued,
taken and ended, what wait the model announced, and whether every message a customer sent
is stored once and answered. The customers' own logs add only what the database cannot
know: what the page showed (the incident note, the bot's reply times) and where a customer
was left stuck.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench.surge_customers import CustomerLog, Kind
from bot.storage.tables import Handoff, Message

UNANSWERED_STATES = ("received", "pending")


@dataclass(frozen=True)
class HandoffRow:
    state: str
    enqueued_at: datetime
    assigned_at: datetime | None
    announced_minutes: float | None  # the model's unrounded estimate when queued

    @property
    def wait_seconds(self) -> float | None:
        if self.assigned_at is None:
            return None
        return (self.assigned_at - self.enqueued_at).total_seconds()


@dataclass(frozen=True)
class MessageCheck:
    sent: int
    missing: int  # sent, acknowledged or not, and not stored
    duplicated: int  # stored more than once
    unanswered: int  # customer messages still "received" or "pending"
    not_acknowledged: int  # the page never got the "ack"
    replies_not_delivered: int  # outbound, made while the page was open, never confirmed

    @property
    def lost(self) -> int:
        return self.missing + self.duplicated + self.unanswered


def _conversation_ids(logs: Iterable[CustomerLog]) -> list[str]:
    return [log.conversation_id for log in logs if log.conversation_id is not None]


def wait_until_answered(database_url: str, logs: Sequence[CustomerLog], timeout: float) -> int:
    """Gives the replayer time for anything still kept; returns how many remain unanswered."""
    engine = sa.create_engine(database_url)
    ids = _conversation_ids(logs)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with Session(engine) as session:
                left = session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Message)
                    .where(
                        Message.conversation_id.in_(ids),
                        Message.direction == "in",
                        Message.delivery_state.in_(UNANSWERED_STATES),
                    )
                )
            if not left or time.monotonic() > deadline:
                return int(left or 0)
            time.sleep(1.0)
    finally:
        engine.dispose()


def read_handoffs(database_url: str, logs: Sequence[CustomerLog]) -> dict[str, HandoffRow]:
    """The first handoff of each bench conversation (a customer asks once)."""
    engine = sa.create_engine(database_url)
    rows: dict[str, HandoffRow] = {}
    with Session(engine) as session:
        for handoff in session.scalars(
            sa.select(Handoff)
            .where(Handoff.conversation_id.in_(_conversation_ids(logs)))
            .order_by(Handoff.id)
        ):
            rows.setdefault(
                handoff.conversation_id,
                HandoffRow(
                    state=handoff.state,
                    enqueued_at=handoff.enqueued_at,
                    assigned_at=handoff.assigned_at,
                    announced_minutes=handoff.announced_wait_minutes,
                ),
            )
    engine.dispose()
    return rows


def check_messages(database_url: str, logs: Sequence[CustomerLog]) -> MessageCheck:
    engine = sa.create_engine(database_url)
    with Session(engine) as session:
        stored: Counter[tuple[str, str]] = Counter(
            (str(conversation), str(client_id))
            for conversation, client_id in session.execute(
                sa.select(Message.conversation_id, Message.client_message_id).where(
                    Message.conversation_id.in_(_conversation_ids(logs)),
                    Message.client_message_id.is_not(None),
                )
            )
        )
        unanswered = session.scalar(
            sa.select(sa.func.count())
            .select_from(Message)
            .where(
                Message.conversation_id.in_(_conversation_ids(logs)),
                Message.direction == "in",
                Message.delivery_state.in_(UNANSWERED_STATES),
            )
        )
        undelivered = 0
        for log in logs:
            if log.conversation_id is None or log.closed_at is None:
                continue
            undelivered += int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Message)
                    .where(
                        Message.conversation_id == log.conversation_id,
                        Message.direction == "out",
                        Message.delivery_state != "delivered",
                        Message.created_at < log.closed_at,
                    )
                )
                or 0
            )
    engine.dispose()
    sent = [(str(log.conversation_id), m.client_id) for log in logs for m in log.sent]
    return MessageCheck(
        sent=len(sent),
        missing=sum(1 for key in sent if stored[key] == 0),
        duplicated=sum(1 for key in sent if stored[key] > 1),
        unanswered=int(unanswered or 0),
        not_acknowledged=sum(1 for log in logs for m in log.sent if m.client_id not in log.acked),
        replies_not_delivered=undelivered,
    )


# --- Figures per phase ------------------------------------------------------------------------


@dataclass
class Figures:
    """One column of the report: a phase, or everything."""

    customers: int = 0
    queued: int = 0
    states: Counter[str] = field(default_factory=Counter)
    waits: list[float] = field(default_factory=list)  # served: assigned - enqueued, seconds
    estimates: list[tuple[float, float]] = field(default_factory=list)  # (announced, actual) s
    no_estimate: int = 0  # served, but queued when no estimate was possible
    note_offered: int = 0
    note_then_person: int = 0
    stuck: int = 0
    first_replies: list[float] = field(default_factory=list)
    engine_down_replies: int = 0

    @property
    def contained(self) -> int:
        return self.customers - self.queued


def figures(logs: Sequence[CustomerLog], handoffs: dict[str, HandoffRow]) -> Figures:
    result = Figures()
    for log in logs:
        result.customers += 1
        result.note_offered += int(log.offered_incident_note)
        result.note_then_person += int(log.offered_incident_note and log.chose_person_after_note)
        result.stuck += int(log.stuck is not None)
        result.first_replies += log.first_reply_seconds
        result.engine_down_replies += log.engine_down_replies
        row = handoffs.get(log.conversation_id or "")
        if row is None:
            continue
        result.queued += 1
        result.states[row.state] += 1
        wait = row.wait_seconds
        if wait is None:
            continue
        result.waits.append(wait)
        if row.announced_minutes is None:
            result.no_estimate += 1
        else:
            result.estimates.append((row.announced_minutes * 60, wait))
    return result


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Report:
    columns: dict[str, Figures]
    seconds_per_sim_minute: float
    honesty_tolerance_share: float = 0.5

    def print(self) -> None:
        names = list(self.columns)
        print(f"\n{'':34}" + "".join(f"{name:>24}" for name in names))
        for label, cells in self._rows():
            print(f"{label:<34}" + "".join(f"{cell:>24}" for cell in cells))

    def _rows(self) -> list[tuple[str, list[str]]]:
        cols = list(self.columns.values())
        return [
            ("customers", [str(c.customers) for c in cols]),
            ("bot containment (never queued)", [_share(c.contained, c.customers) for c in cols]),
            ("handoff rate (queued)", [_share(c.queued, c.customers) for c in cols]),
            ("  served by an agent", [_share(len(c.waits), c.queued) for c in cols]),
            ("  abandoned (left the queue)", [_share(c.states["left"], c.queued) for c in cols]),
            ("  other end states", [_other_states(c.states) for c in cols]),
            ("mean wait (served)", [self.duration(_mean(c.waits)) for c in cols]),
            ("95th-percentile wait (served)", [self._p95(c.waits) for c in cols]),
            ("served with an announced wait", [str(len(c.estimates)) for c in cols]),
            ("  served without one (no agent)", [str(c.no_estimate) for c in cols]),
            ("  mean announced", [self.duration(_mean(_announced(c))) for c in cols]),
            ("  mean actual", [self.duration(_mean(_actual(c))) for c in cols]),
            ("  median announced", [self.duration(_median(_announced(c))) for c in cols]),
            ("  median actual", [self.duration(_median(_actual(c))) for c in cols]),
            ("  median |actual - announced|", [self.duration(_median(_errors(c))) for c in cols]),
            ("  within tolerance (see below)", [self._within(c) for c in cols]),
            ("  waited longer than announced", [self.longer_than_announced(c) for c in cols]),
            ("offered the incident note first", [str(c.note_offered) for c in cols]),
            ("  of them still wanted a person", [_still_wanted(c) for c in cols]),
            ("bot first reply median", [_ms(_median(c.first_replies)) for c in cols]),
            ("bot first reply p95", [_ms(_p95_or_none(c.first_replies)) for c in cols]),
            ("engine-down apologies shown", [str(c.engine_down_replies) for c in cols]),
            ("customers left stuck", [str(c.stuck) for c in cols]),
        ]  # fmt: skip

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "-"
        return f"{seconds:.1f} s = {seconds / self.seconds_per_sim_minute:.1f} sim min"

    def _p95(self, values: Sequence[float]) -> str:
        return self.duration(percentile(values, 0.95)) if values else "-"

    def _tolerance(self, announced: float) -> float:
        return max(self.honesty_tolerance_share * announced, self.seconds_per_sim_minute)

    def _within(self, column: Figures) -> str:
        hits = sum(1 for a, w in column.estimates if abs(w - a) <= self._tolerance(a))
        return _share(hits, len(column.estimates))

    def longer_than_announced(self, column: Figures) -> str:
        longer = sum(1 for a, w in column.estimates if w > a + self._tolerance(a))
        return _share(longer, len(column.estimates))


def print_by_kind(
    phases: dict[str, Sequence[CustomerLog]],
    handoffs: dict[str, HandoffRow],
    seconds_per_sim_minute: float,
) -> None:
    """Who waited: verified incident customers get a head start in the queue, others not."""
    print("\nqueued customers by what they asked (the queue serves by priority, not by arrival):")
    for phase, logs in phases.items():
        for kind in Kind:
            column = figures([log for log in logs if log.plan.kind is kind], handoffs)
            if not column.queued:
                continue
            report = Report({kind: column}, seconds_per_sim_minute)
            mean_wait = report.duration(_mean(column.waits))
            print(
                f"  {phase:<7} {kind:<7} queued {column.queued:>3}, served {len(column.waits):>3},"
                f" left {column.states['left']:>3}; mean wait {mean_wait}"
                f"; waited longer than announced {report.longer_than_announced(column)}"
            )


def _announced(column: Figures) -> list[float]:
    return [a for a, _ in column.estimates]


def _actual(column: Figures) -> list[float]:
    return [w for _, w in column.estimates]


def _still_wanted(column: Figures) -> str:
    return _share(column.note_then_person, column.note_offered)


def _errors(column: Figures) -> list[float]:
    return [abs(w - a) for a, w in column.estimates]


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _p95_or_none(values: Sequence[float]) -> float | None:
    return percentile(values, 0.95) if values else None


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / whole:.0f}%" if whole else "-"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def _other_states(states: Counter[str]) -> str:
    other = {k: v for k, v in states.items() if k not in ("closed", "left")}
    return ", ".join(f"{k} {v}" for k, v in sorted(other.items())) or "none"
