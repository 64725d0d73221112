"""Cancellation and address offers, and the confirmed change, on tracker fixtures."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.confirmations import ActionApplyPendingChange, ActionDropPendingChange
from actions.order_changes import ActionConfirmAddressChange, ActionOfferCancellation
from bot.domain.orders import OrderStatus
from tests.actions.conftest import ORDER, InMemoryShop, form_tracker, lookup_over, slot_values

VERIFIED = {"order_number": "100245", "verified_orders": ["100245"]}
YES = {"text": "yes", "intent": {"name": "affirm", "confidence": 0.98}}


async def test_a_shipped_order_is_not_offered_for_cancellation(dispatcher: CollectingDispatcher):
    shop = InMemoryShop()  # ORDER is in transit

    events = await ActionOfferCancellation(lookup_over(shop)).run(
        dispatcher, form_tracker(slots=VERIFIED), {}
    )

    assert "already shipped with SF Express" in dispatcher.messages[0]["text"]
    assert "awaiting_confirmation" not in slot_values(events)


async def test_a_paid_order_is_offered_then_cancelled_and_refunded_on_yes(
    dispatcher: CollectingDispatcher,
):
    shop = InMemoryShop(order=replace(ORDER, status=OrderStatus.PAID), shipment=None)

    offer = await ActionOfferCancellation(lookup_over(shop)).run(
        dispatcher, form_tracker(slots=VERIFIED), {}
    )
    pending = slot_values(offer)
    assert pending["awaiting_confirmation"] is True
    before_the_yes = shop.order.status
    assert before_the_yes is OrderStatus.PAID  # nothing happens before the yes

    confirm = CollectingDispatcher()
    events = await ActionApplyPendingChange(lookup_over(shop)).run(
        confirm, form_tracker(slots={**VERIFIED, **pending}, said=YES), {}
    )

    assert shop.order.status is OrderStatus.CANCELLED
    assert [r.amount for r in shop.refunds] == [Decimal("399.00")]
    assert "Order 100245 is cancelled. Refund RF-2026-000001" in confirm.messages[0]["text"]
    assert slot_values(events)["awaiting_confirmation"] is False


async def test_a_yes_for_an_order_that_shipped_meanwhile_changes_nothing(
    dispatcher: CollectingDispatcher,
):
    shop = InMemoryShop()  # in transit now
    pending = {"pending_change": {"kind": "cancel", "order_number": "100245"}}

    await ActionApplyPendingChange(lookup_over(shop)).run(
        dispatcher, form_tracker(slots={**VERIFIED, **pending}, said=YES), {}
    )

    assert dispatcher.messages[0]["response"] == "utter_order_changed_meanwhile"
    assert shop.order.status is OrderStatus.IN_TRANSIT and shop.refunds == []


async def test_a_pending_change_for_an_unverified_order_is_refused(
    dispatcher: CollectingDispatcher,
):
    shop = InMemoryShop(order=replace(ORDER, status=OrderStatus.PAID))
    forged = {"pending_change": {"kind": "cancel", "order_number": "100245"}}

    await ActionApplyPendingChange(lookup_over(shop)).run(
        dispatcher, form_tracker(slots={"verified_orders": ["100999"], **forged}, said=YES), {}
    )

    assert dispatcher.messages[0]["response"] == "utter_verification_failed"
    assert shop.order.status is OrderStatus.PAID


async def test_no_drops_the_offer(dispatcher: CollectingDispatcher):
    events = await ActionDropPendingChange().run(dispatcher, form_tracker(slots=VERIFIED), {})

    assert dispatcher.messages[0]["response"] == "utter_change_dropped"
    assert slot_values(events) == {"pending_change": None, "awaiting_confirmation": False}


@pytest.mark.parametrize(
    "said",
    [
        {"text": "well", "intent": {"name": "affirm", "confidence": 0.76}},
        {"text": "yes maybe", "intent": {"name": "affirm", "confidence": 0.95}},
    ],
)
async def test_a_vague_yes_asks_again_and_changes_nothing(
    dispatcher: CollectingDispatcher, said: dict[str, Any]
):
    shop = InMemoryShop(order=replace(ORDER, status=OrderStatus.PAID), shipment=None)
    pending = {
        "pending_change": {"kind": "cancel", "order_number": "100245"},
        "awaiting_confirmation": True,
    }

    events = await ActionApplyPendingChange(lookup_over(shop)).run(
        dispatcher, form_tracker(slots={**VERIFIED, **pending}, said=said), {}
    )

    assert shop.order.status is OrderStatus.PAID and shop.refunds == []
    assert "shall I cancel order 100245?" in dispatcher.messages[0]["text"]
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["yes", "no"]
    assert events == []  # the offer stays open for the real answer


ADDRESS = "Room 1101, 9 Century Avenue, Pudong, Shanghai"
ADDRESS_SLOTS = {**VERIFIED, "new_address": ADDRESS}


async def _offered_then(
    offer_action: type[ActionOfferCancellation | ActionConfirmAddressChange],
    text: str,
    *,
    intent: str,
    slots: dict[str, Any] = VERIFIED,
) -> tuple[InMemoryShop, Tracker]:
    """A paid order with a change on offer, and the customer's reply as ``intent``."""
    shop = InMemoryShop(order=replace(ORDER, status=OrderStatus.PAID), shipment=None)
    offer = await offer_action(lookup_over(shop)).run(
        CollectingDispatcher(), form_tracker(slots=slots), {}
    )
    said = {"text": text, "intent": {"name": intent, "confidence": 0.9}}
    return shop, form_tracker(slots={**slots, **slot_values(offer)}, said=said)


async def test_asking_again_for_the_offered_cancellation_carries_it_out(
    dispatcher: CollectingDispatcher,
):
    """'yes please cancel' reads as cancel_order; offering the same again would loop."""
    shop, tracker = await _offered_then(
        ActionOfferCancellation, "yes please cancel", intent="cancel_order"
    )

    events = await ActionOfferCancellation(lookup_over(shop)).run(dispatcher, tracker, {})
    assert dispatcher.messages == []  # no second offer
    assert {"event": "followup", "name": "action_apply_pending_change"} in [
        {"event": e["event"], "name": e.get("name")} for e in events
    ]
    confirm = CollectingDispatcher()
    await ActionApplyPendingChange(lookup_over(shop)).run(confirm, tracker, {})

    assert shop.order.status is OrderStatus.CANCELLED
    assert "Order 100245 is cancelled." in confirm.messages[0]["text"]


async def test_a_question_about_the_offered_cancellation_gets_the_offer_again(
    dispatcher: CollectingDispatcher,
):
    shop, tracker = await _offered_then(
        ActionOfferCancellation, "can I cancel it", intent="cancel_order"
    )

    await ActionOfferCancellation(lookup_over(shop)).run(dispatcher, tracker, {})

    assert "Shall I cancel it?" in dispatcher.messages[0]["text"]
    assert shop.order.status is OrderStatus.PAID


async def test_asking_again_for_the_offered_address_carries_it_out(
    dispatcher: CollectingDispatcher,
):
    """'yes change the address' reads as change_address; the offer used to come back."""
    shop, tracker = await _offered_then(
        ActionConfirmAddressChange,
        "yes change the address",
        intent="change_address",
        slots=ADDRESS_SLOTS,
    )

    events = await ActionConfirmAddressChange(lookup_over(shop)).run(dispatcher, tracker, {})
    assert dispatcher.messages == []
    assert "action_apply_pending_change" in [e.get("name") for e in events]
    confirm = CollectingDispatcher()
    await ActionApplyPendingChange(lookup_over(shop)).run(confirm, tracker, {})

    assert shop.order.delivery_address == ADDRESS
    assert f"will now go to {ADDRESS}" in confirm.messages[0]["text"]


async def test_a_request_naming_another_address_gets_the_offer_again(
    dispatcher: CollectingDispatcher,
):
    shop, tracker = await _offered_then(
        ActionConfirmAddressChange,
        "change the address to 5 Elm Street",
        intent="change_address",
        slots=ADDRESS_SLOTS,
    )

    await ActionConfirmAddressChange(lookup_over(shop)).run(dispatcher, tracker, {})

    assert f"to: {ADDRESS}?" in dispatcher.messages[0]["text"]
    assert shop.order.delivery_address == ORDER.delivery_address
