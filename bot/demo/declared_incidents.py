"""The demo shop's incidents, declared in Shopdesk's registry as its emergency group would
have: each one declared a little after it began, then updated, and the two past ones
resolved. The shop's own rows (bot/demo/incidents.py) explain its parcels' tracking; these
are what the bot, the surge rule and the ops desk read.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.demo.generate import LOOKED_AT
from bot.demo.incidents import demo_incidents
from bot.demo.rows import IncidentRow
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incident_changes import IncidentChange, IncidentDraft
from bot.domain.incidents import IncidentKind, IncidentStatus
from bot.storage.db import make_engine, make_session_factory
from bot.storage.incidents import Author, change_incident, declare_incident
from bot.storage.migrate import upgrade
from bot.storage.ops_tables import IncidentRecord

logger = logging.getLogger(__name__)

EMERGENCY_GROUP = Author("Emergency group (demo)")
_INTERNAL_NOTES = {
    IncidentKind.WEATHER: "Carriers' own suspension; nothing for us to reroute.",
    IncidentKind.WAREHOUSE: "Generators held the cold store; QA checked chilled stock.",
    IncidentKind.REGIONAL_LOCKDOWN: "Permits renewed daily by the district; escalate fresh food.",
    IncidentKind.CARRIER_OUTAGE: "Uncollected orders moved to YTO; ZTO gives updates at 10:00.",
}


def _draft(row: IncidentRow) -> IncidentDraft:
    kind = IncidentKind(row["kind"])
    return IncidentDraft(
        kind=kind,
        title=row["title"],
        severity=row["severity"],
        regions=tuple(row["regions"]),
        carriers=tuple(row["carriers"]),
        customer_note=row["customer_note"],
        started_at=row["started_at"],
        status=IncidentStatus.INVESTIGATING,
        internal_note=_INTERNAL_NOTES[kind],
    )


def _record(session: Session, row: IncidentRow) -> None:
    """Declared half an hour in, identified with an estimate an hour later, then (for the
    past ones) resolved when the shop's row says."""
    started = row["started_at"]
    incident = declare_incident(
        session, draft=_draft(row), author=EMERGENCY_GROUP, at=started + timedelta(minutes=30)
    )
    change_incident(
        session,
        incident_id=incident.id,
        change=IncidentChange(
            status=IncidentStatus.IDENTIFIED, expected_recovery=row["expected_recovery"]
        ),
        author=EMERGENCY_GROUP,
        at=started + timedelta(minutes=90),
    )
    if row["resolved_at"] is not None:
        change_incident(
            session,
            incident_id=incident.id,
            change=IncidentChange(status=IncidentStatus.RESOLVED),
            author=EMERGENCY_GROUP,
            at=row["resolved_at"],
        )


def declare_demo_incidents(database_url: str, *, today: date, force: bool = False) -> int:
    """How many were declared; 0 when the registry already holds incidents (a shop's ops
    staff may have declared their own: they are left alone unless `force`)."""
    upgrade(database_url, schema="shopdesk")
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            existing = session.scalar(sa.select(sa.func.count()).select_from(IncidentRecord))
            if existing and not force:
                return 0
            session.execute(sa.delete(IncidentRecord))
            rows = demo_incidents(datetime.combine(today, LOOKED_AT, tzinfo=SHOP_TIMEZONE))
            for row in rows:
                _record(session, row)
    finally:
        engine.dispose()
    logger.info("declared %d demo incidents as of %s", len(rows), today)
    return len(rows)
