"""What may be declared or changed about an incident, and how each change reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incident_changes import (
    IncidentChange,
    IncidentDraft,
    change_problems,
    describe_change,
    draft_problems,
)
from bot.domain.incidents import IncidentKind, IncidentStatus
from tests.bot.domain.builders import NOW, incident

DRAFT = IncidentDraft(
    kind=IncidentKind.CARRIER_OUTAGE,
    title="SF Express outage in Hubei (Wuhan)",
    severity=2,
    regions=("Hubei (Wuhan)",),
    carriers=("SF Express",),
    customer_note="SF Express parcels to Wuhan are held at its hubs.",
    started_at=NOW - timedelta(hours=3),
    expected_recovery=NOW + timedelta(days=2),
)


def test_a_complete_draft_has_no_problems() -> None:
    assert draft_problems(DRAFT, now=NOW) == []


def test_each_flaw_of_a_draft_is_named() -> None:
    flawed = replace(
        DRAFT,
        severity=5,
        regions=(),
        carriers=(),
        customer_note=" ",
        started_at=NOW + timedelta(hours=1),
        expected_recovery=NOW,
    )
    assert draft_problems(flawed, now=NOW) == [
        "the severity must be 1 to 4",
        "the scope needs at least one region or carrier",
        "the customer note needs 1 to 1000 characters",
        "the start can't be in the future",
        "the expected recovery must come after the start",
    ]


def test_a_change_to_a_resolved_or_with_a_past_estimate_is_refused() -> None:
    over = incident(status=IncidentStatus.RESOLVED, resolved_at=NOW)
    assert change_problems(over, IncidentChange(severity=3), now=NOW) == [
        "incident 1 is already resolved"
    ]
    past = IncidentChange(expected_recovery=NOW - timedelta(minutes=1))
    assert change_problems(incident(), past, now=NOW) == ["the new estimate must be in the future"]
    assert change_problems(incident(), IncidentChange(), now=NOW) == ["nothing to change"]


def test_the_timeline_names_only_what_really_changes() -> None:
    before = incident(severity=2, expected_recovery=None)
    later = datetime(2025, 1, 13, 18, 0, tzinfo=SHOP_TIMEZONE)
    summary, changes = describe_change(
        before,
        IncidentChange(severity=2, status=IncidentStatus.MONITORING, expected_recovery=later),
    )
    assert summary == "Status identified → monitoring; expected recovery set to Mon 13 Jan 18:00"
    assert changes == {
        "status": ["identified", "monitoring"],
        "expected recovery": ["none", "Mon 13 Jan 18:00"],
    }
    summary, _ = describe_change(before, IncidentChange(status=IncidentStatus.RESOLVED))
    assert summary == "Resolved"


def test_only_estimates_notes_and_resolution_are_news_for_customers() -> None:
    assert IncidentChange(customer_note="new").changes_what_customers_hear
    assert IncidentChange(status=IncidentStatus.RESOLVED).changes_what_customers_hear
    assert not IncidentChange(severity=4).changes_what_customers_hear
    assert not IncidentChange(internal_note="x").changes_what_customers_hear


def test_an_order_date_range_narrows_the_scope() -> None:
    ranged = incident(orders_from=NOW.date() - timedelta(days=1), orders_to=NOW.date())
    assert ranged.affects(region="Shanghai", carrier=None, ordered_on=NOW.date())
    assert not ranged.affects(
        region="Shanghai", carrier=None, ordered_on=NOW.date() - timedelta(days=2)
    )
    assert incident().affects(region="Shanghai", carrier=None, ordered_on=NOW.date())
