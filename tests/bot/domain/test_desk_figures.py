"""The managers' figures on the hand-computed desk of tests/support/desk_fixture.py, and
the rules around it: the cohort's edges, percentiles, empty periods."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.desk_events import DeskFact, EventKind
from bot.domain.desk_figures import (
    DeskFigures,
    Rate,
    ServiceLevelRule,
    compute_figures,
    median,
    nearest_rank,
)
from bot.domain.desk_report import report_document, report_rows
from bot.domain.report_period import ReportPeriod, period_between
from tests.support.desk_fixture import (
    EXPECTED_CHANNELS,
    EXPECTED_DAYS,
    EXPECTED_HOURS,
    EXPECTED_INCIDENTS,
    EXPECTED_INTENTS,
    INCIDENT_TITLES,
    desk_facts,
)

D = date(2026, 3, 2)
RULE = ServiceLevelRule(threshold_seconds=60, target=0.8)


def _period(
    channel: str | None = None, first: date = D, last: date = D + timedelta(1)
) -> ReportPeriod:
    return period_between(
        first.isoformat(), last.isoformat(), channel=channel, today=last, zone=SHOP_TIMEZONE
    )


def _figures(channel: str | None = None, facts: list[DeskFact] | None = None) -> DeskFigures:
    return compute_figures(
        desk_facts(D) if facts is None else facts,
        period=_period(channel),
        rule=RULE,
        zone=SHOP_TIMEZONE,
    )


def test_the_hand_computed_desk() -> None:
    figures = _figures()
    assert figures.contacts == 10
    assert figures.containment == Rate(4, 10)
    assert figures.handoff_rate == Rate(6, 10)
    assert (figures.handoffs, figures.callbacks) == (6, 1)
    assert figures.abandonment == Rate(1, 5)
    assert (figures.first_response.count, figures.first_response.median) == (4, 67.5)
    assert figures.first_response.p90 == 150
    assert (figures.resolution.median, figures.resolution.p90) == (1050, 1500)
    assert figures.service_level == Rate(2, 5)
    assert figures.csat.mean == pytest.approx(11 / 3)
    assert figures.csat.distribution == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    assert figures.csat.response_rate == Rate(3, 4)
    assert figures.by_intent == EXPECTED_INTENTS
    assert figures.by_channel == EXPECTED_CHANNELS
    assert figures.by_hour == [EXPECTED_HOURS.get(hour, 0) for hour in range(24)]
    assert [
        ((day.day - D).days, day.contacts, day.bot_resolved, day.handed_off)
        for day in figures.by_day
    ] == EXPECTED_DAYS
    assert [
        (
            i.incident_id,
            i.contacts,
            i.notices_sent,
            i.customers_notified,
            i.contacts_after_notice,
            i.contacted_after.numerator,
            round(i.contacted_after.value or 0, 4),
        )
        for i in figures.incidents
    ] == EXPECTED_INCIDENTS


def test_one_channel() -> None:
    figures = _figures("telegram")
    assert figures.contacts == 4
    assert (figures.containment, figures.handoff_rate) == (Rate(1, 4), Rate(3, 4))
    assert figures.abandonment == Rate(0, 2)
    assert (figures.first_response.median, figures.first_response.p90) == (60, 90)
    assert figures.service_level == Rate(1, 2)
    assert (figures.csat.mean, figures.csat.response_rate) == (4.5, Rate(2, 2))
    assert figures.by_channel == [("webchat", 0), ("telegram", 4), ("api", 0)]


def test_a_stricter_service_level_counts_fewer_answers_in_time() -> None:
    figures = compute_figures(
        desk_facts(D),
        period=_period(),
        rule=ServiceLevelRule(threshold_seconds=30, target=0.8),
        zone=SHOP_TIMEZONE,
    )
    assert figures.service_level == Rate(1, 5)  # only c03's 30 s: "within" includes 30


def test_a_contact_belongs_to_the_period_of_its_first_message() -> None:
    period = _period()
    at_start = DeskFact(EventKind.OPENED, period.start, "first", "api")
    at_end = DeskFact(EventKind.OPENED, period.end, "next", "api")
    # Ended by the bot after the period: still this period's contact, and contained.
    later = DeskFact(EventKind.BOT_RESOLVED, period.end + timedelta(hours=1), "first", "api")
    figures = compute_figures(
        [at_start, at_end, later], period=period, rule=RULE, zone=SHOP_TIMEZONE
    )
    assert figures.contacts == 1
    assert figures.containment == Rate(1, 1)


def test_a_customer_who_wrote_before_the_notice_did_not_ignore_it() -> None:
    notice_at = datetime(2026, 3, 2, 12, tzinfo=SHOP_TIMEZONE)
    facts = [
        DeskFact(EventKind.NOTICE_SENT, notice_at, "n", "telegram", incident_id=3, account_id=7),
        DeskFact(EventKind.OPENED, notice_at - timedelta(minutes=1), "a", "telegram", account_id=7),
    ]
    (incident,) = compute_figures(facts, period=_period(), rule=RULE, zone=SHOP_TIMEZONE).incidents
    assert (incident.notices_sent, incident.contacts_after_notice) == (1, 0)
    assert incident.contacted_after == Rate(0, 1)


def test_an_empty_period_has_no_rates_rather_than_zeros() -> None:
    figures = compute_figures([], period=_period(), rule=RULE, zone=SHOP_TIMEZONE)
    assert figures.contacts == 0
    assert figures.containment.value is None
    assert figures.first_response.median is None
    assert figures.csat.mean is None
    assert [day.contacts for day in figures.by_day] == [0, 0]
    assert figures.by_intent == [] and figures.incidents == []


@pytest.mark.parametrize(
    ("values", "middle", "p90"),
    [
        ([7.0], 7.0, 7.0),
        ([3.0, 1.0, 2.0], 2.0, 3.0),  # rank ceil(2.7) = 3
        ([float(v) for v in range(1, 11)], 5.5, 9.0),  # rank ceil(9.0) = 9
        ([float(v) for v in range(1, 12)], 6.0, 10.0),  # rank ceil(9.9) = 10
        ([], None, None),
    ],
)
def test_median_and_nearest_rank_p90(
    values: list[float], middle: float | None, p90: float | None
) -> None:
    assert median(values) == middle
    assert nearest_rank(values, 90) == p90


def test_the_document_and_its_rows_carry_every_number_with_its_formula() -> None:
    document = report_document(_figures(), period=_period(), rule=RULE, titles=INCIDENT_TITLES)
    figures = document["figures"]
    assert figures["containment"] | {"formula": ""} == {
        "value": 0.4,
        "numerator": 4,
        "denominator": 10,
        "formula": "",
    }
    assert figures["csat"]["mean"] == 3.67
    assert "within 60 s" in figures["service_level"]["formula"]
    assert "Target: 80 %" in figures["service_level"]["formula"]
    assert "⌈0.9 × n⌉" in figures["first_response_seconds"]["formula"]
    assert document["incidents"]["rows"][0]["title"] == INCIDENT_TITLES[3]
    rows = {
        (section, name): (value, formula) for section, name, value, formula in report_rows(document)
    }
    assert rows[("figures", "containment")] == ("0.4", figures["containment"]["formula"])
    assert rows[("figures", "first_response_seconds.median")][0] == "67.5"
    assert rows[("by_intent", "delivery_delay")][0] == "3"
    assert rows[("by_hour", "9")][0] == "3"
    assert rows[("by_day", f"{D.isoformat()}.bot_resolved")][0] == "3"
    assert rows[(f"incident 3: {INCIDENT_TITLES[3]}", "share_contacted_after")][0] == "0.3333"
    assert all(
        formula
        for (section, name), (_, formula) in rows.items()
        if section == "figures" and "." not in name
    )
