"""The demo's incidents in Shopdesk's registry: which are active when, and what they explain."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.demo.declared_incidents import declare_demo_incidents
from bot.demo.generate import LOOKED_AT, generate_demo_shop
from bot.demo.incidents import HOLD_EVENTS
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incidents import IncidentStatus, most_relevant
from bot.storage import incidents as registry

TODAY = date(2025, 1, 8)
NOW = datetime.combine(TODAY, LOOKED_AT, tzinfo=SHOP_TIMEZONE)


@pytest.fixture
def declared(database_url: str, session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    assert declare_demo_incidents(database_url, today=TODAY) == 4
    return session_factory


def test_the_demo_incidents_are_declared_once_with_their_timelines(
    database_url: str, declared: sessionmaker[Session]
) -> None:
    assert declare_demo_incidents(database_url, today=TODAY) == 0  # make run, again
    rows = {row["id"]: row for row in generate_demo_shop(TODAY).incidents}
    with declared() as session:
        every = registry.all_incidents(session)
        assert [incident.id for incident in every] == [4, 3, 2, 1]
        for incident in every:
            row = rows[incident.id]
            assert (incident.kind.value, incident.title, incident.severity) == (
                row["kind"],
                row["title"],
                row["severity"],
            )
            assert (incident.regions, incident.carriers) == (
                tuple(row["regions"]),
                tuple(row["carriers"]),
            )
            assert (incident.started_at, incident.expected_recovery, incident.resolved_at) == (
                row["started_at"],
                row["expected_recovery"],
                row["resolved_at"],
            )
            assert incident.customer_note == row["customer_note"]
        assert [i.status for i in every] == [
            IncidentStatus.IDENTIFIED,
            IncidentStatus.IDENTIFIED,
            IncidentStatus.RESOLVED,
            IncidentStatus.RESOLVED,
        ]
        entries = registry.timeline(session, incident_id=1)
    assert [entry.summary.split(":")[0].split(" ")[0] for entry in entries] == [
        "Declared",
        "Status",
        "Resolved",
    ]
    assert entries[1].summary == (
        "Status investigating → identified; expected recovery set to Fri 27 Dec 12:00"
    )


def test_active_incidents_follow_start_and_resolution(declared: sessionmaker[Session]) -> None:
    with declared() as session:
        typhoon = registry.get_incident(session, incident_id=1)
        power = registry.get_incident(session, incident_id=2)
        assert typhoon and typhoon.resolved_at and power and power.resolved_at
        cases = {
            NOW: [4, 3],
            typhoon.started_at - timedelta(minutes=1): [],
            typhoon.started_at + timedelta(hours=1): [1],
            typhoon.resolved_at: [],  # resolved at that moment: over
            power.started_at: [2],
            power.resolved_at - timedelta(minutes=1): [2],
            power.resolved_at: [],
        }
        for at, ids in cases.items():
            assert [i.id for i in registry.active_incidents(session, at=at)] == ids, at
        with pytest.raises(ValueError, match="aware"):
            registry.active_incidents(session, at=datetime(2025, 1, 8, 12))


def test_the_active_incidents_explain_the_late_parcels_they_hold(
    declared: sessionmaker[Session],
) -> None:
    """The registry and the shop's tracking tell one story: every late parcel an active
    incident covers is held at a hub by the one the bot names, after it began."""
    with declared() as session:
        active = registry.active_incidents(session, at=NOW)
    shop = generate_demo_shop(TODAY)
    regions = {c["id"]: c["region"] for c in shop.customers}
    covered = {3: 0, 4: 0}
    for row in shop.shipments:
        order = next(o for o in shop.orders if o["number"] == row["order_number"])
        if order["status"] != "in_transit" or row["promised_date"] >= TODAY:
            continue
        region, carrier = regions[order["customer_id"]], row["carrier"]
        incident = most_relevant([i for i in active if i.affects(region=region, carrier=carrier)])
        if incident is None:
            continue
        events = [e for e in shop.events if e["shipment_id"] == row["id"]]
        latest = max(events, key=lambda event: event["at"])
        assert latest["description"] in HOLD_EVENTS.values()
        assert latest["at"] > incident.started_at
        covered[incident.id] += 1
    assert covered[3] >= 2 and covered[4] >= 5


def test_a_forced_reseed_declares_them_afresh(
    database_url: str, declared: sessionmaker[Session]
) -> None:
    later = TODAY + timedelta(days=10)
    assert declare_demo_incidents(database_url, today=later, force=True) == 4
    with declared() as session:
        active = registry.active_incidents(
            session, at=datetime.combine(later, time(18), tzinfo=SHOP_TIMEZONE)
        )
    assert len(active) == 2
