"""Refunds: when one is due, how much, by which method, and by when.

Timing follows the payment method (wallet: 1 working day, card: up to 5,
bank transfer: up to 7). Cash on delivery is refunded to the shop wallet,
because there is no card or account to send it back to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from bot.domain.aftersales import Refund, RefundStatus, ReturnKind, ReturnRequest
from bot.domain.calendar import add_working_days, spoken_date
from bot.domain.money import cny
from bot.domain.orders import Order, OrderStatus

WORKING_DAYS_BY_METHOD = {"wallet": 1, "card": 5, "bank_transfer": 7}
METHOD_IN_WORDS = {
    "wallet": "your shop wallet",
    "card": "the card you paid with",
    "bank_transfer": "the bank account you paid from",
}
STATUS_IN_WORDS = {
    RefundStatus.PENDING: "waiting for the returned parcel to reach our warehouse",
    RefundStatus.PROCESSING: "on its way to you",
    RefundStatus.PAID: "paid",
}


class RefundRefusal(StrEnum):
    NOT_PAID = "not_paid"
    CANCEL_FIRST = "cancel_first"
    ON_THE_WAY = "on_the_way"
    RETURN_FIRST = "return_first"
    ALREADY_REFUNDED = "already_refunded"


@dataclass(frozen=True)
class RefundPlan:
    amount: Decimal
    method: str
    status: RefundStatus
    expected_by: date
    reason: str
    return_id: str | None = None


def refund_method(payment_method: str) -> str:
    return payment_method if payment_method in WORKING_DAYS_BY_METHOD else "wallet"


def expected_refund_date(method: str, *, today: date) -> date:
    return add_working_days(today, WORKING_DAYS_BY_METHOD[refund_method(method)])


def _was_paid(order: Order) -> bool:
    """Cash on delivery is paid at the door: before delivery nothing was."""
    if order.status is OrderStatus.PENDING_PAYMENT:
        return False
    received = (OrderStatus.DELIVERED, OrderStatus.RETURN_REQUESTED, OrderStatus.REFUNDED)
    return order.payment_method != "cash_on_delivery" or order.status in received


def refundable(order: Order, refunds: Sequence[Refund]) -> Decimal:
    """What can still be paid back on an order: the goods and shipping paid, less every
    refund already made or promised (a pending refund is money the customer will get)."""
    if not _was_paid(order):
        return Decimal("0")
    refunded = sum((refund.amount for refund in refunds), Decimal("0"))
    return max(Decimal("0"), order.total + order.shipping_fee - refunded)


def plan_claim_refund(
    order: Order, refunds: Sequence[Refund], *, value: Decimal, claim_id: str, today: date
) -> RefundPlan | None:
    """The refund that settles a quality claim: the claimed goods' value, but never more
    than is still refundable (earlier claims and returns may have refunded the same
    goods); None when nothing is."""
    amount = min(value, refundable(order, refunds))
    if amount <= 0:
        return None
    method = refund_method(order.payment_method)
    return RefundPlan(
        amount=amount,
        method=method,
        status=RefundStatus.PENDING,
        expected_by=expected_refund_date(method, today=today),
        reason=f"quality claim {claim_id}",
    )


def _return_value(order: Order, request: ReturnRequest) -> Decimal:
    value = sum(
        (line.unit_price * line.quantity for line in order.lines if line.sku in request.skus),
        Decimal("0"),
    )
    # A quality problem is the shop's fault, so the shipping fee comes back too.
    return value + (order.shipping_fee if request.kind is ReturnKind.QUALITY else Decimal("0"))


def plan_refund(
    order: Order,
    returns: Sequence[ReturnRequest],
    refunds: Sequence[Refund],
    *,
    today: date,
) -> RefundPlan | RefundRefusal:
    """A refund is due for a cancelled order or an open return that has none yet, and is
    never more than is still refundable."""
    method = refund_method(order.payment_method)
    expected = expected_refund_date(method, today=today)
    if order.status is OrderStatus.CANCELLED:
        if refunds:
            return RefundRefusal.ALREADY_REFUNDED
        return RefundPlan(
            amount=order.total + order.shipping_fee,
            method=method,
            status=RefundStatus.PROCESSING,
            expected_by=expected,
            reason="cancelled order",
        )
    if order.status is OrderStatus.RETURN_REQUESTED:
        refunded_returns = {refund.return_id for refund in refunds}
        open_returns = [r for r in returns if r.id not in refunded_returns]
        if not open_returns:
            return RefundRefusal.ALREADY_REFUNDED
        request = open_returns[-1]
        amount = min(_return_value(order, request), refundable(order, refunds))
        if amount <= 0:
            return RefundRefusal.ALREADY_REFUNDED
        return RefundPlan(
            amount=amount,
            method=method,
            status=RefundStatus.PENDING,
            expected_by=expected,
            reason=f"return {request.id}",
            return_id=request.id,
        )
    refusals = {
        OrderStatus.PENDING_PAYMENT: RefundRefusal.NOT_PAID,
        OrderStatus.PAID: RefundRefusal.CANCEL_FIRST,
        OrderStatus.PACKED: RefundRefusal.CANCEL_FIRST,
        OrderStatus.SHIPPED: RefundRefusal.ON_THE_WAY,
        OrderStatus.IN_TRANSIT: RefundRefusal.ON_THE_WAY,
        OrderStatus.OUT_FOR_DELIVERY: RefundRefusal.ON_THE_WAY,
        OrderStatus.DELIVERED: RefundRefusal.RETURN_FIRST,
    }
    return refusals.get(order.status, RefundRefusal.ALREADY_REFUNDED)


def describe_refund(refund: Refund) -> str:
    where = METHOD_IN_WORDS.get(refund.method, refund.method)
    line = f"Refund {refund.id}: {cny(refund.amount)} to {where}, {STATUS_IN_WORDS[refund.status]}"
    if refund.status is RefundStatus.PAID:
        return line + "."
    if refund.status is RefundStatus.PENDING:
        return line + (
            f". Once the parcel arrives it is paid within "
            f"{WORKING_DAYS_BY_METHOD.get(refund.method, 1)} working day(s)."
        )
    return line + f"; expected by {spoken_date(refund.expected_by)}."


def explain_refund_not_made(done: str) -> str:
    """After a change that was made (a claim filed, a return opened, an order cancelled)
    whose refund then failed: what was done, and who finishes it. Never "nothing changed"."""
    return (
        f"{done} But I couldn't make the refund automatically, so a person from our team "
        "will arrange it with you."
    )


def describe_refund_plan(plan: RefundPlan) -> str:
    where = METHOD_IN_WORDS.get(plan.method, plan.method)
    return f"{cny(plan.amount)} to {where}, expected by {spoken_date(plan.expected_by)}"


def explain_refund_refusal(refusal: RefundRefusal, order: Order) -> str:
    """Why no refund now, and the step that leads to one."""
    texts = {
        RefundRefusal.NOT_PAID: (
            f"Order {order.number} hasn't been paid yet, so nothing was charged and there is "
            "nothing to refund. If you don't want it, I can cancel it: shall I?"
        ),
        RefundRefusal.CANCEL_FIRST: (
            f"Order {order.number} hasn't shipped yet. If you cancel it, the full amount is "
            "refunded automatically. Would you like to cancel it?"
        ),
        RefundRefusal.ON_THE_WAY: (
            f"Order {order.number} is on its way. You can refuse the parcel at the door, or "
            "return it within 7 days of delivery; the refund follows once it's back with us."
        ),
        RefundRefusal.RETURN_FIRST: (
            f"Order {order.number} was delivered. To get your money back, start a return "
            "(regular goods, within 7 days), or tell me if something arrived damaged or wrong."
        ),
        RefundRefusal.ALREADY_REFUNDED: f"Order {order.number} already has its refund.",
    }
    return texts[refusal]
