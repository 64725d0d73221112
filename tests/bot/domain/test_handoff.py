from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.handoff import (
    DEFAULT_WEIGHTS,
    HandoffPolicy,
    HandoffReason,
    PriorityWeights,
    QueueEntryFacts,
    SurgeSignals,
    SurgeState,
    claim_needs_person,
    normal_arrival_rate,
    order_queue,
    priority_score,
    should_hand_off_after_fallbacks,
    surge_state,
    trigger_enabled,
)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=SHOP_TIMEZONE)
POLICY = HandoffPolicy()


# --- Triggers ------------------------------------------------------------------------------


def test_two_consecutive_fallbacks_hand_off_by_default() -> None:
    assert not should_hand_off_after_fallbacks(POLICY, 0)
    assert not should_hand_off_after_fallbacks(POLICY, 1)
    assert should_hand_off_after_fallbacks(POLICY, 2)
    assert should_hand_off_after_fallbacks(POLICY, 5)


def test_fallback_trigger_is_configurable() -> None:
    patient = HandoffPolicy(fallbacks_before_handoff=3)
    off = HandoffPolicy(on_repeated_fallback=False)

    assert not should_hand_off_after_fallbacks(patient, 2)
    assert should_hand_off_after_fallbacks(patient, 3)
    assert not should_hand_off_after_fallbacks(off, 10)


def test_claims_above_the_threshold_need_a_person() -> None:
    assert not claim_needs_person(POLICY, Decimal("299.99"))
    assert not claim_needs_person(POLICY, Decimal("300.00"))
    assert claim_needs_person(POLICY, Decimal("300.01"))
    assert claim_needs_person(HandoffPolicy(claim_value_threshold=Decimal("0")), Decimal("1"))


def test_triggers_follow_the_policy_but_policy_handoffs_cannot_be_switched_off() -> None:
    quiet = HandoffPolicy(on_request=False, on_complaint=False, on_repeated_fallback=False)

    assert all(trigger_enabled(POLICY, reason) for reason in HandoffReason)
    assert [r for r in HandoffReason if trigger_enabled(quiet, r)] == [HandoffReason.POLICY]


@pytest.mark.parametrize(
    "settings",
    [
        {"fallbacks_before_handoff": 0},
        {"claim_value_threshold": Decimal("-1")},
        {"max_acceptable_wait_minutes": -1},
        {"surge_rate_factor": 1.0},
        {"surge_queue_length": 0},
        {"surge_window_minutes": 0},
    ],
)
def test_policy_rejects_nonsense(settings) -> None:
    with pytest.raises(ValueError):
        HandoffPolicy(**settings)


# --- Priority ------------------------------------------------------------------------------


def entry(
    reason: HandoffReason = HandoffReason.CUSTOMER_ASKED,
    *,
    waited: float = 0.0,
    verified: bool = False,
    incident: bool = False,
    value: str | None = None,
    name: str = "",
) -> QueueEntryFacts:
    return QueueEntryFacts(
        reason=reason,
        enqueued_at=NOW - timedelta(minutes=waited),
        verified=verified,
        affected_by_active_incident=incident,
        order_value=Decimal(value) if value is not None else None,
        conversation_id=name,
    )


def test_incident_affected_verified_customer_goes_before_an_unverified_question() -> None:
    question = entry(waited=2, name="question")
    affected = entry(verified=True, incident=True, name="affected")

    assert [e.conversation_id for e in order_queue([question, affected], now=NOW)] == [
        "affected",
        "question",
    ]


def test_high_value_incident_complaint_outranks_a_general_question() -> None:
    complaint = entry(HandoffReason.COMPLAINT, verified=True, incident=True, value="1200")

    assert priority_score(complaint, now=NOW) == pytest.approx(40.0)  # 10 + 5 + 15 + 10 (cap)
    assert priority_score(entry(), now=NOW) == 0.0


def test_weights_add_up_as_documented() -> None:
    assert priority_score(entry(HandoffReason.POLICY), now=NOW) == 10.0
    assert priority_score(entry(HandoffReason.REPEATED_FALLBACK), now=NOW) == 5.0
    assert priority_score(entry(verified=True, value="250"), now=NOW) == pytest.approx(7.5)
    assert priority_score(entry(verified=True, value="5000"), now=NOW) == pytest.approx(15.0)
    assert priority_score(entry(waited=12.5), now=NOW) == pytest.approx(12.5)


def test_unverified_claims_of_incident_or_value_do_not_count() -> None:
    claimed = entry(incident=True, value="5000")

    assert priority_score(claimed, now=NOW) == priority_score(entry(), now=NOW)


def test_waiting_long_enough_overtakes_any_fresh_entry() -> None:
    top = entry(HandoffReason.COMPLAINT, verified=True, incident=True, value="5000", name="top")
    bound = DEFAULT_WEIGHTS.max_head_start_minutes
    almost = entry(waited=bound - 1, name="patient")
    long_enough = entry(waited=bound + 1, name="patient")

    assert bound == 40.0
    assert order_queue([almost, top], now=NOW)[0].conversation_id == "top"
    assert order_queue([top, long_enough], now=NOW)[0].conversation_id == "patient"


def test_equal_scores_keep_arrival_order() -> None:
    first = entry(HandoffReason.REPEATED_FALLBACK, waited=5, name="first")  # 5 + 5
    second = entry(HandoffReason.COMPLAINT, waited=0, name="second")  # 10 + 0

    ordered = order_queue([second, first], now=NOW)

    assert [e.conversation_id for e in ordered] == ["first", "second"]


def test_weights_cannot_be_negative() -> None:
    with pytest.raises(ValueError):
        PriorityWeights(customer_asked=-5)


def test_a_future_enqueue_time_does_not_count_as_negative_waiting() -> None:
    assert priority_score(entry(waited=-3), now=NOW) == 0.0


def test_queue_entries_need_aware_times() -> None:
    with pytest.raises(ValueError):
        QueueEntryFacts(HandoffReason.COMPLAINT, datetime(2026, 11, 20, 15, 0), False, False, None)


# --- Surge ---------------------------------------------------------------------------------


def signals(
    *, arrivals: int = 15, normal: float = 1.0, queue: int = 3, incidents: int = 0
) -> SurgeSignals:
    return SurgeSignals(
        arrivals_in_window=arrivals,
        window_minutes=15,
        normal_rate_per_min=normal,
        queue_length=queue,
        active_incidents=incidents,
    )


def test_a_normal_day_is_no_surge() -> None:
    assert surge_state(POLICY, signals()) == SurgeState(active=False, reasons=())


def test_arrival_rate_alone_triggers() -> None:
    assert surge_state(POLICY, signals(arrivals=44)).active is False  # 2.9x
    assert surge_state(POLICY, signals(arrivals=45)) == SurgeState(
        True, ("arrival rate 3.0x normal",)
    )
    assert surge_state(POLICY, signals(arrivals=63)).reasons == ("arrival rate 4.2x normal",)


def test_a_tiny_baseline_needs_enough_arrivals_to_call_a_surge() -> None:
    quiet_shop = signals(arrivals=6, normal=0.1)  # 4x, but only 6 chats

    assert not surge_state(POLICY, quiet_shop).active
    assert surge_state(POLICY, signals(arrivals=10, normal=0.1)).active


def test_without_a_baseline_the_rate_signal_stays_quiet() -> None:
    assert not surge_state(POLICY, signals(arrivals=100, normal=0.0)).active


def test_queue_length_alone_triggers() -> None:
    assert not surge_state(POLICY, signals(queue=19)).active
    assert surge_state(POLICY, signals(queue=25)) == SurgeState(True, ("queue of 25",))


def test_an_active_incident_alone_triggers() -> None:
    assert surge_state(POLICY, signals(incidents=1)) == SurgeState(True, ("active incident",))
    assert surge_state(POLICY, signals(incidents=3)).reasons == ("3 active incidents",)


def test_all_reasons_are_listed() -> None:
    state = surge_state(POLICY, signals(arrivals=90, queue=40, incidents=1))

    assert state.reasons == ("arrival rate 6.0x normal", "queue of 40", "active incident")


def test_surge_thresholds_are_configurable() -> None:
    touchy = HandoffPolicy(surge_rate_factor=1.5, surge_queue_length=5)

    assert surge_state(touchy, signals(arrivals=23)).reasons == ("arrival rate 1.5x normal",)
    assert surge_state(touchy, signals(queue=5)).reasons == ("queue of 5",)


def test_normal_rate_is_the_median_of_past_windows() -> None:
    # The 90 from last week's courier outage must not raise the baseline.
    assert normal_arrival_rate([12, 15, 90, 14, 16], 15) == pytest.approx(1.0)
    assert normal_arrival_rate([], 15) == 0.0
    with pytest.raises(ValueError):
        normal_arrival_rate([10], 0)
