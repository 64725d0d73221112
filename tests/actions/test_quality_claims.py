"""Quality claims on tracker fixtures: one claim per item in progress, a refund never above
what is left, and a filed claim (or a cancellation, or a return) whose refund then fails is
told as it is and goes to a person, never reported as "nothing changed"."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.confirmations import ActionApplyPendingChange
from actions.damaged_item import ActionCheckQualityClaim, ActionFileQualityClaim
from bot.backends.protocols import OrderConflict
from bot.domain.aftersales import Refund, RefundStatus, Resolution
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.orders import GoodsKind, OrderLine, OrderStatus
from tests.actions.conftest import (
    ORDER,
    SHIPMENT,
    InMemoryShop,
    form_tracker,
    lookup_over,
    responses,
    slot_values,
)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=SHOP_TIMEZONE)
TODAY = NOW.date()
STRAWBERRIES = OrderLine("FR-0007", "Strawberries 500 g", 2, Decimal("39.90"), GoodsKind.FRESH)
VERIFIED = {"order_number": "100245", "verified_orders": ["100245"]}
YES = {"text": "yes", "intent": {"name": "affirm", "confidence": 0.98}}
REPORT = {
    **VERIFIED,
    "damage_description": "the strawberries were mouldy",
    "claim_resolution": "refund",
}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "now", lambda: NOW)
    monkeypatch.setattr(services, "today", lambda: TODAY)


def _fresh_delivered_shop() -> InMemoryShop:
    """Strawberries (CNY 79.80, no shipping fee) delivered yesterday: claimable for a day."""
    return InMemoryShop(
        order=replace(ORDER, status=OrderStatus.DELIVERED, lines=(STRAWBERRIES,)),
        shipment=replace(SHIPMENT, delivered_at=NOW - timedelta(hours=20)),
    )


class RefundRefused(InMemoryShop):
    """A shop whose refunds fail on the cap, as the SQL adapter's do."""

    async def create_refund(self, order_number: str, **details: Any) -> Refund:
        raise OrderConflict(f"refunds for order {order_number} would exceed what was paid")


def _followups(events: list[dict[str, Any]]) -> list[str]:
    return [event["name"] for event in events if event["event"] == "followup"]


def _refund(amount: str) -> Refund:
    return Refund(
        "RF-2026-000001",
        "100245",
        Decimal(amount),
        "card",
        RefundStatus.PAID,
        NOW,
        date(2026, 11, 21),
        "goodwill",
    )


async def test_filing_then_reporting_the_same_item_again_names_the_open_claim(
    dispatcher: CollectingDispatcher,
) -> None:
    shop = _fresh_delivered_shop()
    await ActionFileQualityClaim(lookup_over(shop)).run(dispatcher, form_tracker(slots=REPORT), {})
    assert [claim.skus for claim in shop.claims] == [("FR-0007",)]

    again = CollectingDispatcher()
    events = await ActionCheckQualityClaim(lookup_over(shop)).run(
        again, form_tracker(slots=VERIFIED), {}
    )

    told = responses(again)
    assert len(told) == 1
    assert f"Quality claim {shop.claims[0].id} is already open for Strawberries 500 g" in told[0]
    assert _followups(events) == []  # the damage form does not start
    assert len(shop.claims) == 1


async def test_a_claim_filed_elsewhere_meanwhile_is_not_filed_twice(
    dispatcher: CollectingDispatcher,
) -> None:
    shop = _fresh_delivered_shop()
    first = await shop.create_quality_claim(
        "100245", description="mouldy", resolution=Resolution.REFUND, skus=("FR-0007",)
    )

    await ActionFileQualityClaim(lookup_over(shop)).run(dispatcher, form_tracker(slots=REPORT), {})

    assert f"Quality claim {first.id} is already open" in responses(dispatcher)[0]
    assert shop.claims == [first] and shop.refunds == []


async def test_the_claim_refund_is_only_what_is_left_to_refund(
    dispatcher: CollectingDispatcher,
) -> None:
    shop = _fresh_delivered_shop()
    shop.refunds.append(_refund("60.00"))

    await ActionFileQualityClaim(lookup_over(shop)).run(dispatcher, form_tracker(slots=REPORT), {})

    assert [refund.amount for refund in shop.refunds] == [Decimal("60.00"), Decimal("19.80")]
    told = responses(dispatcher)[0]
    assert f"quality claim {shop.claims[0].id}" in told
    assert "a refund of CNY 19.80 (all that is left to refund on this order)" in told


async def test_nothing_left_to_refund_is_said_before_anything_is_filed(
    dispatcher: CollectingDispatcher,
) -> None:
    shop = _fresh_delivered_shop()
    shop.refunds.append(_refund("79.80"))

    events = await ActionFileQualityClaim(lookup_over(shop)).run(
        dispatcher, form_tracker(slots=REPORT), {}
    )

    assert shop.claims == [] and len(shop.refunds) == 1
    assert "already been refunded in full" in responses(dispatcher)[0]
    assert slot_values(events)["claim_resolution"] is None


async def test_a_refund_that_fails_after_the_claim_is_filed_is_told_and_goes_to_a_person(
    dispatcher: CollectingDispatcher,
) -> None:
    shop = RefundRefused(
        order=replace(ORDER, status=OrderStatus.DELIVERED, lines=(STRAWBERRIES,)),
        shipment=replace(SHIPMENT, delivered_at=NOW - timedelta(hours=20)),
    )

    events = await ActionFileQualityClaim(lookup_over(shop)).run(
        dispatcher, form_tracker(slots=REPORT), {}
    )

    claim_id = shop.claims[0].id
    assert responses(dispatcher) == [
        f"I've opened quality claim {claim_id} for Strawberries 500 g. But I couldn't make the "
        "refund automatically, so a person from our team will arrange it with you."
    ]
    slots = slot_values(events)
    assert slots["handoff_reason"] == "policy" and claim_id in slots["handoff_detail"]
    assert _followups(events) == ["action_hand_off"]


async def test_a_cancellation_whose_refund_fails_is_told_as_done_and_goes_to_a_person(
    dispatcher: CollectingDispatcher,
) -> None:
    shop = RefundRefused(order=replace(ORDER, status=OrderStatus.PAID), shipment=None)
    pending = {"pending_change": {"kind": "cancel", "order_number": "100245"}}

    events = await ActionApplyPendingChange(lookup_over(shop)).run(
        dispatcher, form_tracker(slots={**VERIFIED, **pending}, said=YES), {}
    )

    assert shop.order.status is OrderStatus.CANCELLED
    assert responses(dispatcher) == [
        "Order 100245 is cancelled. But I couldn't make the refund automatically, so a person "
        "from our team will arrange it with you."
    ]
    assert slot_values(events)["handoff_reason"] == "policy"
    assert _followups(events) == ["action_hand_off"]


async def test_a_return_whose_refund_fails_is_told_as_open_and_goes_to_a_person(
    dispatcher: CollectingDispatcher,
) -> None:
    shop = RefundRefused(
        order=replace(ORDER, status=OrderStatus.DELIVERED),
        shipment=replace(SHIPMENT, delivered_at=NOW - timedelta(days=2)),
    )
    pending = {"pending_change": {"kind": "return", "order_number": "100245"}}

    events = await ActionApplyPendingChange(lookup_over(shop)).run(
        dispatcher, form_tracker(slots={**VERIFIED, **pending}, said=YES), {}
    )

    told = responses(dispatcher)
    assert len(shop.returns) == 1 and len(told) == 1
    assert told[0].startswith(f"Return {shop.returns[0].id} is open for order 100245.")
    assert told[0].endswith(
        "But I couldn't make the refund automatically, so a person from our team will "
        "arrange it with you."
    )
    assert shop.returns[0].id in slot_values(events)["handoff_detail"]
    assert _followups(events) == ["action_hand_off"]


async def test_a_refund_alone_that_fails_still_says_nothing_changed(
    dispatcher: CollectingDispatcher,
) -> None:
    """One step, nothing made: here "nothing changed" is the truth."""
    shop = RefundRefused(order=replace(ORDER, status=OrderStatus.CANCELLED), shipment=None)
    pending = {"pending_change": {"kind": "refund", "order_number": "100245"}}

    events = await ActionApplyPendingChange(lookup_over(shop)).run(
        dispatcher, form_tracker(slots={**VERIFIED, **pending}, said=YES), {}
    )

    assert responses(dispatcher) == ["utter_order_changed_meanwhile"]
    assert "handoff_reason" not in slot_values(events)
