"""The incident registry: Shopdesk's own record of what the emergency group declared.

Customer delay answers, the surge rule, the console and the ops chat all read it, so
one change reaches every one of them on their next turn. Changes go through
`declare_incident` and `change_incident`, which write the timeline in the same
transaction: an incident never changes without a timeline entry saying who and what.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.incident_changes import IncidentChange, IncidentDraft, describe_change
from bot.domain.incidents import Incident, IncidentKind, IncidentStatus
from bot.storage.ops_tables import IncidentRecord, IncidentUpdateRecord
from bot.storage.tables import utc_now


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    author: str
    summary: str


@dataclass(frozen=True)
class Author:
    """Who made a change: a staff member, or the system (the demo seed) with no account."""

    name: str
    agent_id: int | None = None


class IncidentNotFound(LookupError):
    pass


class IncidentAlreadyResolved(ValueError):
    pass


def incident_from_record(record: IncidentRecord) -> Incident:
    return Incident(
        id=record.id,
        kind=IncidentKind(record.kind),
        title=record.title,
        started_at=record.started_at,
        customer_note=record.customer_note,
        regions=tuple(record.regions),
        carriers=tuple(record.carriers),
        expected_recovery=record.expected_recovery,
        resolved_at=record.resolved_at,
        severity=record.severity,
        status=IncidentStatus(record.status),
        internal_note=record.internal_note,
        orders_from=record.orders_from,
        orders_to=record.orders_to,
    )


def declare_incident(
    session: Session, *, draft: IncidentDraft, author: Author, at: datetime | None = None
) -> Incident:
    moment = at or utc_now()
    record = IncidentRecord(
        kind=draft.kind.value,
        title=draft.title,
        severity=draft.severity,
        status=draft.status.value,
        regions=list(draft.regions),
        carriers=list(draft.carriers),
        orders_from=draft.orders_from,
        orders_to=draft.orders_to,
        customer_note=draft.customer_note,
        internal_note=draft.internal_note,
        started_at=draft.started_at,
        expected_recovery=draft.expected_recovery,
        resolved_at=draft.resolved_at,
        declared_by=author.agent_id,
        updated_at=moment,
    )
    session.add(record)
    session.flush()
    _add_entry(
        session,
        incident_id=record.id,
        author=author,
        at=moment,
        summary=f"Declared: {draft.kind.label}, severity {draft.severity}, {draft.status.value}",
        changes={},
    )
    return incident_from_record(record)


def change_incident(
    session: Session,
    *,
    incident_id: int,
    change: IncidentChange,
    author: Author,
    at: datetime | None = None,
) -> Incident:
    """Applies `change` and writes one timeline entry; the row is locked meanwhile, so two
    staff members changing the same incident take turns and each entry tells the truth."""
    moment = at or utc_now()
    record = session.scalars(
        sa.select(IncidentRecord).where(IncidentRecord.id == incident_id).with_for_update()
    ).first()
    if record is None:
        raise IncidentNotFound(incident_id)
    before = incident_from_record(record)
    if before.status is IncidentStatus.RESOLVED:
        raise IncidentAlreadyResolved(incident_id)
    summary, changes = describe_change(before, change)
    if not changes:
        return before
    if change.severity is not None:
        record.severity = change.severity
    if change.status is not None:
        record.status = change.status.value
        if change.status is IncidentStatus.RESOLVED:
            record.resolved_at = moment
    if change.expected_recovery is not None:
        record.expected_recovery = change.expected_recovery
    if change.customer_note is not None:
        record.customer_note = change.customer_note
    if change.internal_note is not None:
        record.internal_note = change.internal_note
    record.updated_at = moment
    _add_entry(
        session, incident_id=incident_id, author=author, at=moment, summary=summary, changes=changes
    )
    session.flush()
    return incident_from_record(record)


def _add_entry(
    session: Session,
    *,
    incident_id: int,
    author: Author,
    at: datetime,
    summary: str,
    changes: dict[str, list[str]],
) -> None:
    session.add(
        IncidentUpdateRecord(
            incident_id=incident_id,
            at=at,
            agent_id=author.agent_id,
            author=author.name[:64],
            summary=summary[:500],
            changes=changes,
        )
    )


def active_incidents(session: Session, *, at: datetime) -> list[Incident]:
    """Started and not resolved at `at`, newest first."""
    if at.tzinfo is None:
        raise ValueError("`at` must be an aware datetime")
    query = sa.select(IncidentRecord).where(
        IncidentRecord.started_at <= at,
        sa.or_(IncidentRecord.resolved_at.is_(None), IncidentRecord.resolved_at > at),
    )
    return _incidents(session, query)


def all_incidents(session: Session) -> list[Incident]:
    return _incidents(session, sa.select(IncidentRecord))


def get_incident(session: Session, *, incident_id: int) -> Incident | None:
    record = session.get(IncidentRecord, incident_id)
    return incident_from_record(record) if record is not None else None


def timeline(session: Session, *, incident_id: int, limit: int = 5) -> list[TimelineEntry]:
    """The latest entries, oldest of them first (read top to bottom, like a log)."""
    query = (
        sa.select(IncidentUpdateRecord)
        .where(IncidentUpdateRecord.incident_id == incident_id)
        .order_by(IncidentUpdateRecord.at.desc(), IncidentUpdateRecord.id.desc())
        .limit(limit)
    )
    rows = list(session.scalars(query))
    return [TimelineEntry(row.at, row.author, row.summary) for row in reversed(rows)]


def _incidents(session: Session, query: sa.Select[IncidentRecord]) -> list[Incident]:
    ordered = query.order_by(IncidentRecord.started_at.desc(), IncidentRecord.id.desc())
    return [incident_from_record(record) for record in session.scalars(ordered)]


class IncidentRegistry:
    """The registry for async callers (the order desk, the surge rule): each read is a
    short transaction in a worker thread, so a change is seen on the very next turn."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    async def active_incidents(self, *, at: datetime) -> list[Incident]:
        return await asyncio.to_thread(self._read_active, at)

    async def count_active(self, *, at: datetime) -> int:
        return len(await self.active_incidents(at=at))

    def _read_active(self, at: datetime) -> list[Incident]:
        with self._sessions() as session:
            return active_incidents(session, at=at)
