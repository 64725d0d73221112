"""The order-status actions, run on tracker fixtures against in-memory shops."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.order_status import ActionShowOrderStatus, ValidateOrderLookupForm
from tests.actions.conftest import (
    CUSTOMER,
    InMemoryShop,
    form_tracker,
    lookup_over,
    responses,
    signals,
    slot_values,
)

RIGHT_DIGITS = CUSTOMER.phone[-4:]


async def _run_validation(
    tracker: Any, domain: dict[str, Any], shop: InMemoryShop | None = None, timeout: float = 2.0
) -> tuple[dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    action = ValidateOrderLookupForm(lookup_over(shop or InMemoryShop(), timeout=timeout))
    events = await action.run(dispatcher, tracker, domain)
    return slot_values(events), dispatcher


async def _validate(
    tracker: Any, domain: dict[str, Any], shop: InMemoryShop | None = None, timeout: float = 2.0
) -> tuple[dict[str, Any], list[str]]:
    slots, dispatcher = await _run_validation(tracker, domain, shop, timeout)
    return slots, responses(dispatcher)


async def test_number_and_right_digits_in_one_message_verify_the_order(domain):
    tracker = form_tracker(new_slots={"order_number": "100245", "order_contact": RIGHT_DIGITS})

    slots, dispatcher = await _run_validation(tracker, domain)

    assert slots["verified_orders"] == ["100245"]
    assert slots["order_contact"] == RIGHT_DIGITS
    assert responses(dispatcher) == []
    # The gateway hears who proved it, to link a Telegram account to that customer.
    assert signals(dispatcher) == [
        {"shopdesk_signal": {"type": "customer_verified", "customer_id": CUSTOMER.id}}
    ]


async def test_linked_customer_needs_no_proof_for_their_own_order(domain):
    tracker = form_tracker(
        new_slots={"order_number": "100245"}, metadata={"linked_customer_id": CUSTOMER.id}
    )

    slots, dispatcher = await _run_validation(tracker, domain)

    assert slots["verified_orders"] == ["100245"]
    assert dispatcher.messages == []


async def test_linked_account_must_still_prove_another_customers_order(domain):
    tracker = form_tracker(
        new_slots={"order_number": "100245"}, metadata={"linked_customer_id": CUSTOMER.id + 1}
    )

    slots, dispatcher = await _run_validation(tracker, domain)

    assert "verified_orders" not in slots
    assert slots["order_number"] == "100245"
    assert signals(dispatcher) == []


async def test_a_wrong_proof_reports_no_verification(domain):
    tracker = form_tracker(slots={"order_number": "100245"}, new_slots={"order_contact": "0000"})

    _, dispatcher = await _run_validation(tracker, domain)

    assert signals(dispatcher) == []


async def test_email_is_compared_without_case(domain):
    tracker = form_tracker(
        slots={"order_number": "100245"}, new_slots={"order_contact": "LI.WEI@EXAMPLE.COM"}
    )

    slots, _ = await _validate(tracker, domain)

    assert slots["verified_orders"] == ["100245"]


async def test_wrong_digits_and_unknown_order_look_the_same(domain):
    wrong_digits = form_tracker(
        slots={"order_number": "100245"}, new_slots={"order_contact": "0000"}
    )
    unknown_order = form_tracker(
        slots={"order_number": "109999"}, new_slots={"order_contact": RIGHT_DIGITS}
    )

    slots_a, said_a = await _validate(wrong_digits, domain)
    slots_b, said_b = await _validate(unknown_order, domain)

    assert said_a == said_b == ["utter_verification_failed"]
    assert (
        slots_a
        == slots_b
        == {
            "order_number": None,
            "order_contact": None,
            "verification_failures": 1,
        }
    )


async def test_fifth_failure_locks_the_form_without_another_retry_prompt(domain):
    tracker = form_tracker(
        slots={"order_number": "100245", "verification_failures": 4.0},
        new_slots={"order_contact": "0000"},
    )

    slots, said = await _validate(tracker, domain)

    assert slots["verification_failures"] == 5
    assert slots["requested_slot"] is None  # the form ends here
    assert said == []


async def test_failures_in_other_conversations_lock_the_order_even_for_the_right_proof(domain):
    for conversation in range(5):
        wrong = form_tracker(
            slots={"order_number": "100245"},
            new_slots={"order_contact": "0000"},
            metadata={"client": f"ip:198.51.100.{conversation}"},
        )
        await _validate(wrong, domain)
    right = form_tracker(
        slots={"order_number": "100245"},
        new_slots={"order_contact": RIGHT_DIGITS},
        metadata={"client": "ip:203.0.113.5"},
    )

    slots, dispatcher = await _run_validation(right, domain)

    said = responses(dispatcher)
    assert "verified_orders" not in slots and signals(dispatcher) == []
    assert "For your security I can't check that order right now" in said[0]
    assert "about 15 minutes" in said[0] and "ask me for a person" in said[0]
    assert slots["lookup_unavailable"] is True and slots["requested_slot"] is None


async def test_a_locked_order_that_exists_and_one_that_does_not_read_the_same(domain):
    for number in ("100245", "109999"):
        for _ in range(5):
            await _validate(
                form_tracker(slots={"order_number": number}, new_slots={"order_contact": "0000"}),
                domain,
            )

    _, said_real = await _validate(
        form_tracker(slots={"order_number": "100245"}, new_slots={"order_contact": "0000"}), domain
    )
    _, said_unknown = await _validate(
        form_tracker(slots={"order_number": "109999"}, new_slots={"order_contact": "0000"}), domain
    )

    assert said_real == said_unknown


async def test_a_client_walking_order_numbers_is_refused_for_any_order(domain):
    walker = {"client": "ip:203.0.113.66"}
    for number in range(100100, 100110):
        await _validate(
            form_tracker(
                slots={"order_number": str(number)},
                new_slots={"order_contact": "0000"},
                metadata=walker,
            ),
            domain,
        )

    slots, said = await _validate(
        form_tracker(
            slots={"order_number": "100245"},
            new_slots={"order_contact": RIGHT_DIGITS},
            metadata=walker,
        ),
        domain,
    )

    assert "tried from here" in said[0]
    assert "verified_orders" not in slots


async def test_a_verified_order_is_not_asked_for_proof_again(domain):
    tracker = form_tracker(
        slots={"verified_orders": ["100245"]}, new_slots={"order_number": "order 100245"}
    )

    slots, said = await _validate(tracker, domain)

    assert slots == {"order_number": "100245", "requested_slot": None}
    assert said == []


async def test_badly_formed_number_and_proof_get_a_hint_not_a_failure(domain):
    bad_number = form_tracker(new_slots={"order_number": "my order is 12345"})
    bad_proof = form_tracker(slots={"order_number": "100245"}, new_slots={"order_contact": "dunno"})

    slots_a, said_a = await _validate(bad_number, domain)
    slots_b, said_b = await _validate(bad_proof, domain)

    assert said_a == ["utter_order_number_format"] and slots_a["order_number"] is None
    assert said_b == ["utter_contact_format"] and slots_b["order_contact"] is None
    assert "verification_failures" not in slots_a | slots_b


async def test_a_slow_backend_gets_an_honest_reply_instead_of_a_wait(domain):
    slow = InMemoryShop(delay=30)
    tracker = form_tracker(
        slots={"order_number": "100245"}, new_slots={"order_contact": RIGHT_DIGITS}
    )

    slots, said = await _validate(tracker, domain, shop=slow, timeout=0.2)

    assert said == ["utter_backend_unavailable"]
    assert slots["lookup_unavailable"] is True
    assert slots["requested_slot"] is None
    assert slow.finished_calls == 0  # the call was cut off, not waited for


async def test_status_answer_for_a_verified_order(dispatcher):
    tracker = form_tracker(slots={"order_number": "100245", "verified_orders": ["100245"]})

    events = await ActionShowOrderStatus(lookup_over(InMemoryShop())).run(dispatcher, tracker, {})

    text = responses(dispatcher)[0]
    assert "Order 100245 is on its way." in text
    assert "SF Express, tracking number SF1234567890123" in text
    assert "Arrived at the sorting hub, Wuhan hub, 18 Nov 14:05" in text
    assert slot_values(events) == {"order_contact": None}


async def test_status_is_never_shown_for_an_unverified_order(dispatcher):
    tracker = form_tracker(slots={"order_number": "100245", "verified_orders": ["100300"]})

    await ActionShowOrderStatus(lookup_over(InMemoryShop())).run(dispatcher, tracker, {})

    assert responses(dispatcher) == ["utter_verification_failed"]


async def test_locked_conversation_is_told_where_to_get_help(dispatcher):
    tracker = form_tracker(
        slots={"order_number": "100245", "verified_orders": ["100245"], "verification_failures": 5}
    )

    await ActionShowOrderStatus(lookup_over(InMemoryShop())).run(dispatcher, tracker, {})

    assert "support team can help" in responses(dispatcher)[0]
    assert "SF1234567890123" not in responses(dispatcher)[0]


async def test_status_lookup_with_backend_down_says_so(dispatcher):
    tracker = form_tracker(slots={"order_number": "100245", "verified_orders": ["100245"]})
    slow = InMemoryShop(delay=30)

    await ActionShowOrderStatus(lookup_over(slow, timeout=0.2)).run(dispatcher, tracker, {})

    assert responses(dispatcher) == ["utter_backend_unavailable"]
