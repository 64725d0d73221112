"""The demo's past week at the desk: the same every time for a seed day, seeded once, kept
apart from live events, and shaped like a real desk around the demo incidents."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.demo.declared_incidents import declare_demo_incidents
from bot.demo.desk_week import PREFIX, desk_week_rows, seed_desk_week
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.desk_figures import ServiceLevelRule
from bot.domain.report_period import period_between
from bot.storage.db import make_engine, make_session_factory
from bot.storage.desk_events import record_event
from bot.storage.desk_report import report_from_database
from bot.storage.ops_tables import DeskEvent

TODAY = date(2026, 3, 16)


def _rows(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                DeskEvent.kind, DeskEvent.at, DeskEvent.conversation_id, DeskEvent.incident_id,
                DeskEvent.value, DeskEvent.account_id,
            ).order_by(DeskEvent.id)
        )  # fmt: skip
        result = [tuple(row) for row in rows]
    engine.dispose()
    return result


def _week(url: str) -> dict[str, Any]:
    period = period_between(
        (TODAY - timedelta(days=7)).isoformat(),
        (TODAY - timedelta(days=1)).isoformat(),
        channel=None,
        today=TODAY,
        zone=SHOP_TIMEZONE,
    )
    return report_from_database(url, period=period, rule=ServiceLevelRule(60, 0.8))


def test_the_same_week_for_the_same_day_seeded_once(database_url: str, tmp_path: Path) -> None:
    declare_demo_incidents(database_url, today=TODAY)
    contacts = seed_desk_week(database_url, today=TODAY)
    assert 600 < contacts < 1500
    assert seed_desk_week(database_url, today=TODAY) == 0  # every `make run` seeds: once

    again = f"sqlite:///{tmp_path / 'again.db'}"
    declare_demo_incidents(again, today=TODAY)
    seed_desk_week(again, today=TODAY)
    assert _rows(again) == _rows(database_url)
    other_day = desk_week_rows(TODAY + timedelta(days=1), [])
    assert other_day[0]["at"] != desk_week_rows(TODAY, [])[0]["at"]


def test_a_forced_reseed_replaces_the_demo_and_keeps_live_events(database_url: str) -> None:
    seed_desk_week(database_url, today=TODAY)
    engine = make_engine(database_url)
    with make_session_factory(engine).begin() as session:
        record_event(session, kind="opened", conversation_id="c0ffee", channel="webchat")
    engine.dispose()
    before = len(_rows(database_url))
    assert seed_desk_week(database_url, today=TODAY, force=True) > 0
    after = _rows(database_url)
    assert len(after) == before
    live = [row for row in after if not row[2].startswith(PREFIX)]
    assert [(row[0], row[2]) for row in live] == [("opened", "c0ffee")]


def test_it_looks_like_a_real_desk_around_the_demo_incidents(database_url: str) -> None:
    declare_demo_incidents(database_url, today=TODAY)
    seed_desk_week(database_url, today=TODAY)
    report = _week(database_url)
    figures = report["figures"]

    assert 0.6 < figures["containment"]["value"] < 0.85
    assert 0.15 < figures["handoff_rate"]["value"] < 0.35
    assert 0.02 < figures["abandonment"]["value"] < 0.15
    assert 20 < figures["first_response_seconds"]["median"] < 90
    assert 0.3 < figures["csat"]["response_rate"]["value"] < 0.6
    assert 3.5 < figures["csat"]["mean"] < 4.5
    days = {row["day"]: row["contacts"] for row in report["breakdowns"]["by_day"]["rows"]}
    assert min(days.values()) > 60
    # The lockdown (3 days back) and the carrier outage (yesterday afternoon) bring more.
    quiet = days[str(TODAY - timedelta(days=4))]
    assert days[str(TODAY - timedelta(days=1))] > 1.5 * quiet
    hours = [row["contacts"] for row in report["breakdowns"]["by_hour"]["rows"]]
    assert sum(hours[9:12]) > 5 * sum(hours[2:5])  # busy mornings, quiet nights

    incidents = {row["title"]: row for row in report["incidents"]["rows"]}
    lockdown = incidents["Epidemic control measures in Wuhan: deliveries restricted"]
    outage = incidents["ZTO Express: sorting-centre system failure"]
    for incident in (lockdown, outage):
        assert incident["contacts"] > 20 and incident["notices_sent"] > 50
        assert 0 < incident["contacts_after_notice"] < incident["customers_notified"] / 4
    topics = [row["intent"] for row in report["breakdowns"]["by_intent"]["rows"]]
    assert topics[0] in ("delivery_delay", "order_status")


def test_nothing_is_seeded_in_the_future(database_url: str) -> None:
    seed_desk_week(database_url, today=TODAY)
    midnight = datetime.combine(TODAY, datetime.min.time(), tzinfo=SHOP_TIMEZONE)
    opened = [row[1] for row in _rows(database_url) if row[0] == "opened"]
    assert max(opened) < midnight - timedelta(minutes=59)
    assert min(opened) >= midnight - timedelta(days=7)
