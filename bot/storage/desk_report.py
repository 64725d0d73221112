"""Reads the desk's events for a report and hands them to the figures (bot/domain/).

The console's API, its CSV export and `shopdesk report` all come through
`build_report`, so they read the same rows with the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.desk_events import DeskFact, EventKind
from bot.domain.desk_figures import ServiceLevelRule, compute_figures
from bot.domain.desk_report import report_document
from bot.domain.report_period import ReportPeriod
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.storage.ops_tables import DeskEvent, IncidentRecord


def service_level_rule(settings: Settings) -> ServiceLevelRule:
    return ServiceLevelRule(
        threshold_seconds=settings.service_level_seconds, target=settings.service_level_target
    )


# Read as plain columns, not ORM objects: a quarter of a busy desk is a lot of rows.
_COLUMNS = (
    DeskEvent.kind,
    DeskEvent.at,
    DeskEvent.conversation_id,
    DeskEvent.channel,
    DeskEvent.handoff_id,
    DeskEvent.agent_id,
    DeskEvent.incident_id,
    DeskEvent.intent,
    DeskEvent.value,
    DeskEvent.account_id,
)


def load_facts(session: Session, *, period: ReportPeriod) -> list[DeskFact]:
    """The period's contacts with all their events (whenever they happened), and the
    period's notices: a superset of what the figures use, read in one query."""
    in_period = sa.and_(DeskEvent.at >= period.start, DeskEvent.at < period.end)
    opened = sa.select(DeskEvent.conversation_id).where(
        DeskEvent.kind == EventKind.OPENED.value, in_period
    )
    notices = sa.and_(DeskEvent.kind == EventKind.NOTICE_SENT.value, in_period)
    if period.channel is not None:
        opened = opened.where(DeskEvent.channel == period.channel)
        notices = sa.and_(notices, DeskEvent.channel == period.channel)
    rows = session.execute(
        sa.select(*_COLUMNS)
        .where(sa.or_(DeskEvent.conversation_id.in_(opened), notices))
        .order_by(DeskEvent.at, DeskEvent.id)
    )
    return [DeskFact(**row._mapping) for row in rows]


def incident_titles(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(IncidentRecord.id, IncidentRecord.title).where(IncidentRecord.id.in_(wanted))
    )
    return {incident_id: title for incident_id, title in rows}


def build_report(
    session: Session, *, period: ReportPeriod, rule: ServiceLevelRule
) -> dict[str, Any]:
    """The report document (bot/domain/desk_report.py) for the period."""
    figures = compute_figures(
        load_facts(session, period=period), period=period, rule=rule, zone=SHOP_TIMEZONE
    )
    titles = incident_titles(session, (incident.incident_id for incident in figures.incidents))
    return report_document(figures, period=period, rule=rule, titles=titles)


def report_from_database(
    database_url: str, *, period: ReportPeriod, rule: ServiceLevelRule
) -> dict[str, Any]:
    """For `shopdesk report`, which runs outside the gateway (and maybe before it ever ran)."""
    upgrade(database_url, schema="shopdesk")
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return build_report(session, period=period, rule=rule)
    finally:
        engine.dispose()
