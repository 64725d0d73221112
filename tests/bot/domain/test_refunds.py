from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.aftersales import Refund, RefundStatus, ReturnKind, ReturnRequest
from bot.domain.calendar import add_working_days
from bot.domain.orders import OrderStatus
from bot.domain.refunds import (
    RefundPlan,
    RefundRefusal,
    describe_refund,
    expected_refund_date,
    plan_refund,
    refund_method,
)
from tests.bot.domain.builders import NOW, RICE_COOKER, STRAWBERRIES, TODAY, order

RETURN = ReturnRequest("R-2026-000001", "100245", ReturnKind.QUALITY, ("EL-0042",), "broken", NOW)


def test_working_days_skip_the_weekend() -> None:
    assert add_working_days(date(2026, 11, 20), 1) == date(2026, 11, 23)  # Friday -> Monday
    assert add_working_days(date(2026, 11, 20), 5) == date(2026, 11, 27)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("wallet", date(2026, 11, 23)),
        ("card", date(2026, 11, 27)),
        ("bank_transfer", date(2026, 12, 1)),
    ],
)
def test_refund_timing_follows_the_payment_method(method: str, expected: date) -> None:
    assert expected_refund_date(method, today=TODAY) == expected


def test_cash_on_delivery_is_refunded_to_the_wallet() -> None:
    assert refund_method("cash_on_delivery") == "wallet"


def test_cancelled_order_gets_everything_back_including_shipping() -> None:
    cancelled = order(
        OrderStatus.CANCELLED, lines=(RICE_COOKER, STRAWBERRIES), shipping_fee=Decimal("8")
    )

    plan = plan_refund(cancelled, (), (), today=TODAY)

    assert isinstance(plan, RefundPlan)
    assert plan.amount == Decimal("486.80")
    assert plan.method == "card"
    assert plan.expected_by == date(2026, 11, 27)


def test_quality_return_refunds_the_items_and_the_shipping_fee() -> None:
    returned = order(OrderStatus.RETURN_REQUESTED, shipping_fee=Decimal("12"))

    plan = plan_refund(returned, (RETURN,), (), today=TODAY)

    assert isinstance(plan, RefundPlan)
    assert (plan.amount, plan.return_id, plan.status) == (
        Decimal("411.00"),
        "R-2026-000001",
        RefundStatus.PENDING,
    )


def test_a_return_already_refunded_is_not_refunded_twice() -> None:
    paid = Refund(
        "RF-2026-000009",
        "100245",
        Decimal("399"),
        "card",
        RefundStatus.PAID,
        NOW,
        TODAY,
        "return",
        return_id="R-2026-000001",
    )

    plan = plan_refund(order(OrderStatus.RETURN_REQUESTED), (RETURN,), (paid,), today=TODAY)

    assert plan is RefundRefusal.ALREADY_REFUNDED
    assert (
        describe_refund(paid)
        == "Refund RF-2026-000009: CNY 399.00 to the card you paid with, paid."
    )


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        (OrderStatus.PENDING_PAYMENT, RefundRefusal.NOT_PAID),
        (OrderStatus.PACKED, RefundRefusal.CANCEL_FIRST),
        (OrderStatus.IN_TRANSIT, RefundRefusal.ON_THE_WAY),
        (OrderStatus.DELIVERED, RefundRefusal.RETURN_FIRST),
    ],
)
def test_no_refund_without_the_step_that_leads_to_one(
    status: OrderStatus, refusal: RefundRefusal
) -> None:
    assert plan_refund(order(status), (), (), today=TODAY) is refusal
