from __future__ import annotations

from datetime import timedelta

from bot.domain.orders import OrderStatus
from bot.domain.returns import (
    ReturnRefusal,
    assess_return,
    describe_return_offer,
    explain_return_refusal,
)
from tests.bot.domain.builders import NOW, RICE_COOKER, STRAWBERRIES, order, shipment


def test_regular_goods_within_seven_days_can_go_back_without_a_reason() -> None:
    delivered = shipment(delivered_at=NOW - timedelta(days=6, hours=23))

    eligibility = assess_return(order(lines=(RICE_COOKER, STRAWBERRIES)), delivered, now=NOW)

    assert eligibility.allowed
    assert eligibility.returnable == (RICE_COOKER,)
    offer = describe_return_offer(eligibility)
    assert "1 × Rice cooker (CNY 399.00)" in offer
    assert "Strawberries 500 g can't be returned for a change of mind" in offer


def test_window_closes_seven_days_after_delivery() -> None:
    late = shipment(delivered_at=NOW - timedelta(days=7, minutes=1))

    eligibility = assess_return(order(), late, now=NOW)

    assert eligibility.refusal is ReturnRefusal.WINDOW_PASSED
    assert "7-day return window" in explain_return_refusal(eligibility, order())
    assert "quality claim" in explain_return_refusal(eligibility, order())


def test_fresh_only_orders_cannot_be_returned_for_a_change_of_mind() -> None:
    fresh = order(lines=(STRAWBERRIES,))

    eligibility = assess_return(fresh, shipment(delivered_at=NOW - timedelta(hours=2)), now=NOW)

    assert eligibility.refusal is ReturnRefusal.ONLY_FRESH
    assert "48 hours" in explain_return_refusal(eligibility, fresh)


def test_nothing_is_returnable_before_delivery() -> None:
    on_the_way = order(OrderStatus.IN_TRANSIT)

    eligibility = assess_return(on_the_way, shipment(), now=NOW)

    assert eligibility.refusal is ReturnRefusal.NOT_DELIVERED
    assert "refuse the parcel" in explain_return_refusal(eligibility, on_the_way)


def test_an_order_with_a_return_already_is_refused() -> None:
    eligibility = assess_return(
        order(OrderStatus.RETURN_REQUESTED), shipment(delivered_at=NOW), now=NOW
    )

    assert eligibility.refusal is ReturnRefusal.ALREADY_RETURNED
