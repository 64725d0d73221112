"""Quality claims and their refunds are limited: one claim in progress per item, and never
more refunded than was paid (goods and shipping, less the refunds already made)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.domain.aftersales import (
    QualityClaim,
    Refund,
    RefundStatus,
    Resolution,
    ReturnKind,
    ReturnRequest,
)
from bot.domain.claims import assess_claim, describe_claim, explain_nothing_to_refund
from bot.domain.orders import OrderStatus
from bot.domain.refunds import (
    RefundPlan,
    RefundRefusal,
    explain_refund_not_made,
    plan_claim_refund,
    plan_refund,
    refundable,
)
from tests.bot.domain.builders import NOW, RICE_COOKER, STRAWBERRIES, TODAY, order, shipment

MIXED = order(lines=(RICE_COOKER, STRAWBERRIES), shipping_fee=Decimal("12.00"))  # 478.80 + 12
DELIVERED = shipment(delivered_at=NOW - timedelta(hours=20))


def _refund(amount: str, status: RefundStatus = RefundStatus.PAID) -> Refund:
    return Refund("RF-2026-000001", "100245", Decimal(amount), "card", status, NOW, TODAY, "x")


def _claim(*skus: str, status: str = "open") -> QualityClaim:
    return QualityClaim(
        "QC-2026-000009", "100245", "crushed", Resolution.REFUND, skus, NOW, status=status
    )


def test_refundable_is_what_was_paid_less_every_refund_made_or_promised() -> None:
    assert refundable(MIXED, []) == Decimal("490.80")
    assert refundable(MIXED, [_refund("399.00"), _refund("50", RefundStatus.PENDING)]) == Decimal(
        "41.80"
    )
    assert refundable(MIXED, [_refund("490.80")]) == 0
    assert refundable(MIXED, [_refund("500.00")]) == 0  # never negative


@pytest.mark.parametrize(
    ("status", "method"),
    [
        (OrderStatus.PENDING_PAYMENT, "card"),
        (OrderStatus.IN_TRANSIT, "cash_on_delivery"),
        (OrderStatus.CANCELLED, "cash_on_delivery"),
    ],
)
def test_nothing_is_refundable_on_an_order_nobody_paid_for(
    status: OrderStatus, method: str
) -> None:
    assert refundable(order(status, payment_method=method), []) == 0


def test_a_claim_refund_is_the_claimed_value_up_to_what_is_left() -> None:
    full = plan_claim_refund(
        MIXED, [], value=Decimal("79.80"), claim_id="QC-2026-000009", today=TODAY
    )
    capped = plan_claim_refund(
        MIXED, [_refund("450.00")], value=Decimal("79.80"), claim_id="QC-2026-000009", today=TODAY
    )
    nothing = plan_claim_refund(
        MIXED, [_refund("490.80")], value=Decimal("79.80"), claim_id="QC-2026-000009", today=TODAY
    )

    assert isinstance(full, RefundPlan) and full.amount == Decimal("79.80")
    assert full.reason == "quality claim QC-2026-000009" and full.status is RefundStatus.PENDING
    assert isinstance(capped, RefundPlan) and capped.amount == Decimal("40.80")
    assert nothing is None


def test_a_return_refund_is_capped_too() -> None:
    returned = order(
        OrderStatus.RETURN_REQUESTED, lines=(RICE_COOKER, STRAWBERRIES), shipping_fee=Decimal("12")
    )
    request = ReturnRequest("R-2026-000001", "100245", ReturnKind.NO_REASON, ("EL-0042",), "", NOW)

    capped = plan_refund(returned, [request], [_refund("100.00")], today=TODAY)
    none_left = plan_refund(returned, [request], [_refund("490.80")], today=TODAY)

    assert isinstance(capped, RefundPlan) and capped.amount == Decimal("390.80")
    assert none_left is RefundRefusal.ALREADY_REFUNDED


def test_an_item_with_a_claim_in_progress_is_not_claimed_for_again() -> None:
    fresh_only = order(lines=(STRAWBERRIES,))

    again = assess_claim(fresh_only, DELIVERED, now=NOW, claims=[_claim("FR-0007")])

    assert again.lines == ()
    assert again.reason is not None
    assert "Quality claim QC-2026-000009 is already open for Strawberries 500 g" in again.reason
    assert "no need to report it again" in again.reason


def test_the_other_items_can_still_be_claimed_for_and_the_open_claim_is_named() -> None:
    partly = assess_claim(MIXED, DELIVERED, now=NOW, claims=[_claim("FR-0007")])

    assert partly.reason is None
    assert partly.lines == (RICE_COOKER,)
    assert [claim.id for claim in partly.already_open] == ["QC-2026-000009"]


@pytest.mark.parametrize("status", ["resolved", "rejected"])
def test_a_settled_claim_does_not_block_a_new_one(status: str) -> None:
    eligibility = assess_claim(MIXED, DELIVERED, now=NOW, claims=[_claim("FR-0007", status=status)])

    assert eligibility.reason is None
    assert eligibility.lines == (RICE_COOKER, STRAWBERRIES) and eligibility.already_open == ()


def test_the_customer_hears_the_refund_actually_made() -> None:
    eligibility = assess_claim(order(lines=(STRAWBERRIES,)), DELIVERED, now=NOW)
    claim = _claim("FR-0007")

    whole = describe_claim(claim, eligibility, _refund("79.80", RefundStatus.PENDING))
    capped = describe_claim(claim, eligibility, _refund("20.00", RefundStatus.PENDING))

    assert "with a refund of CNY 79.80. We'll e-mail you" in whole
    assert "a refund of CNY 20.00 (all that is left to refund on this order)" in capped


def test_partial_success_and_nothing_to_refund_are_said_as_they_are() -> None:
    told = explain_refund_not_made("I've opened quality claim QC-2026-000009 for Strawberries.")

    assert told.startswith("I've opened quality claim QC-2026-000009")
    assert "couldn't make the refund automatically" in told and "a person" in told
    assert "haven't opened a claim" in explain_nothing_to_refund(MIXED)
