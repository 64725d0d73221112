"""A declaration or update in the making: what is asked next, and how answers fold in."""

from __future__ import annotations

from datetime import datetime

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incidents import IncidentKind, IncidentStatus
from bot.ops import drafts
from tests.bot.domain.builders import incident

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=SHOP_TIMEZONE)  # a Tuesday
REGIONS = ["Hubei (Wuhan)", "Shanghai", "Guangdong (Guangzhou)"]
CARRIERS = ["SF Express", "ZTO Express"]


def _fold(plan: dict[str, object], answer: str) -> drafts.Folded:
    return drafts.fold_answer(plan, answer, now=NOW, regions=REGIONS, carriers=CARRIERS, active=[])


def test_the_issue_s_example_leaves_only_severity_and_note_to_ask() -> None:
    plan = drafts.declaration_from(
        "SF Express is down in Hubei since 9am, back Friday",
        now=NOW,
        regions=REGIONS,
        carriers=CARRIERS,
    )
    assert drafts.missing(plan) == ["severity", "customer_note"]
    assert drafts.next_question(plan, active=[], now=NOW).buttons == [
        (str(level), str(level)) for level in range(1, 5)
    ]
    plan = _fold(plan, "3").plan
    question = drafts.next_question(plan, active=[], now=NOW)
    assert question.text.startswith("What should customers be told? Suggested:")
    plan = _fold(plan, drafts.USE_SUGGESTED).plan
    assert drafts.missing(plan) == []
    draft = drafts.draft_of(plan, now=NOW)
    assert (draft.kind, draft.severity, draft.regions, draft.carriers) == (
        IncidentKind.CARRIER_OUTAGE,
        3,
        ("Hubei (Wuhan)",),
        ("SF Express",),
    )
    assert draft.started_at == NOW.replace(hour=9)
    assert draft.expected_recovery == datetime(2026, 12, 4, 18, 0, tzinfo=SHOP_TIMEZONE)
    assert "SF Express" in draft.customer_note


def test_a_bare_request_asks_everything_in_turn_and_rejects_bad_answers() -> None:
    plan = drafts.declaration_from(
        "declare an incident", now=NOW, regions=REGIONS, carriers=CARRIERS
    )
    assert drafts.missing(plan) == [
        "incident_kind",
        "scope",
        "severity",
        "expected_recovery",
        "customer_note",
    ]
    assert _fold(plan, "something odd").problem == "Please pick one of the kinds."
    plan = _fold(plan, "regional lockdown").plan
    refused = _fold(plan, "Atlantis")
    assert refused.plan == plan and refused.problem is not None
    assert "We deliver to: Hubei (Wuhan), Shanghai" in refused.problem
    plan = _fold(plan, "Shanghai").plan
    assert _fold(plan, "very bad").problem == "Please give the severity as a number from 1 to 4."
    plan = _fold(plan, "4").plan
    assert _fold(plan, "yesterday").problem is not None  # an estimate in the past
    plan = _fold(plan, "not known yet").plan
    assert plan["expected_recovery"] == drafts.UNKNOWN
    plan = _fold(plan, "Deliveries to Shanghai go to pick-up points.").plan
    draft = drafts.draft_of(plan, now=NOW)
    assert (draft.expected_recovery, draft.started_at) == (None, NOW)
    assert draft.customer_note == "Deliveries to Shanghai go to pick-up points."


def test_an_update_picks_its_incident_and_its_changes() -> None:
    lockdown = incident(id=3, title="Wuhan lockdown", regions=("Hubei (Wuhan)",))
    outage = incident(
        id=4,
        kind=IncidentKind.CARRIER_OUTAGE,
        title="ZTO outage",
        regions=(),
        carriers=("ZTO Express",),
    )
    plan = drafts.update_from(
        "new estimate for the lockdown: Friday 12:00",
        [lockdown, outage],
        resolving=False,
        now=NOW,
        regions=REGIONS,
        carriers=CARRIERS,
    )
    assert (plan["incident_id"], plan["expected_recovery"]) == (
        3,
        datetime(2026, 12, 4, 12, 0, tzinfo=SHOP_TIMEZONE).isoformat(),
    )
    vague = drafts.update_from(
        "update an incident",
        [lockdown, outage],
        resolving=False,
        now=NOW,
        regions=REGIONS,
        carriers=CARRIERS,
    )
    assert drafts.missing(vague) == ["incident_id", "change"]
    question = drafts.next_question(vague, active=[lockdown, outage], now=NOW)
    assert [i.id for i in question.choices] == [3, 4]
    folded = drafts.fold_answer(
        vague, "incident 4", now=NOW, regions=REGIONS, carriers=CARRIERS, active=[lockdown, outage]
    )
    assert folded.plan["incident_id"] == 4
    changed = _fold(folded.plan, "severity 3")
    assert drafts.change_of(changed.plan).severity == 3
    resolved = drafts.update_from(
        "resolve incident 4",
        [lockdown, outage],
        resolving=True,
        now=NOW,
        regions=REGIONS,
        carriers=CARRIERS,
    )
    assert drafts.change_of(resolved).status is IncidentStatus.RESOLVED
    internal = _fold(folded.plan, "internal note: ZTO calls back at 10")
    assert drafts.change_of(internal.plan).internal_note == "ZTO calls back at 10"


def test_stop_words_end_the_form() -> None:
    assert drafts.is_stop("cancel") and drafts.is_stop("never mind, forget it")
    assert not drafts.is_stop("the lockdown")
