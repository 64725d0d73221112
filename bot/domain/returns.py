"""Return eligibility, by the shop's policy.

Regular goods may go back within 7 days of delivery without a reason. Fresh and
chilled goods cannot be returned for a change of mind: only quality problems,
reported within 48 hours of delivery, through a quality claim. Nothing can be
returned before it has been delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from bot.domain.calendar import spoken_date
from bot.domain.money import cny
from bot.domain.orders import GoodsKind, Order, OrderLine, OrderStatus, Shipment

RETURN_WINDOW = timedelta(days=7)
FRESH_CLAIM_WINDOW = timedelta(hours=48)


class ReturnRefusal(StrEnum):
    NOT_DELIVERED = "not_delivered"
    WINDOW_PASSED = "window_passed"
    ONLY_FRESH = "only_fresh"
    ALREADY_RETURNED = "already_returned"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ReturnEligibility:
    returnable: tuple[OrderLine, ...]
    fresh_lines: tuple[OrderLine, ...]
    refusal: ReturnRefusal | None
    deadline: datetime | None

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    @property
    def value(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.returnable), Decimal("0"))


def assess_return(order: Order, shipment: Shipment | None, *, now: datetime) -> ReturnEligibility:
    regular = tuple(line for line in order.lines if line.kind is GoodsKind.REGULAR)
    fresh = tuple(line for line in order.lines if line.kind is not GoodsKind.REGULAR)
    delivered_at = shipment.delivered_at if shipment else None
    deadline = delivered_at + RETURN_WINDOW if delivered_at else None

    def refuse(reason: ReturnRefusal) -> ReturnEligibility:
        return ReturnEligibility((), fresh, reason, deadline)

    if order.status in (OrderStatus.RETURN_REQUESTED, OrderStatus.REFUNDED):
        return refuse(ReturnRefusal.ALREADY_RETURNED)
    if order.status is OrderStatus.CANCELLED:
        return refuse(ReturnRefusal.CANCELLED)
    if order.status is not OrderStatus.DELIVERED or delivered_at is None or deadline is None:
        return refuse(ReturnRefusal.NOT_DELIVERED)
    if not regular:
        return refuse(ReturnRefusal.ONLY_FRESH)
    if now > deadline:
        return refuse(ReturnRefusal.WINDOW_PASSED)
    return ReturnEligibility(regular, fresh, None, deadline)


def describe_return_offer(eligibility: ReturnEligibility) -> str:
    items = ", ".join(f"{line.quantity} × {line.name}" for line in eligibility.returnable)
    offer = f"You can return {items} ({cny(eligibility.value)}) without giving a reason"
    if eligibility.deadline:
        offer += f", until {spoken_date(eligibility.deadline.date())}"
    offer += "."
    if eligibility.fresh_lines:
        fresh = ", ".join(line.name for line in eligibility.fresh_lines)
        offer += (
            f" {fresh} can't be returned for a change of mind; if there is a quality problem, "
            "tell me and I'll open a quality claim."
        )
    return offer + " Shall I open the return?"


def explain_return_refusal(eligibility: ReturnEligibility, order: Order) -> str:
    """Why not, and what is possible instead: the customer should never hit a dead end."""
    reason = eligibility.refusal
    if reason is ReturnRefusal.NOT_DELIVERED:
        return (
            f"Order {order.number} hasn't been delivered yet, so it can't be returned. "
            "If it hasn't shipped you can cancel it instead; if it's on its way you can refuse "
            "the parcel at the door and it comes back to us."
        )
    if reason is ReturnRefusal.ONLY_FRESH:
        return (
            f"Order {order.number} only has fresh or chilled goods, which can't be returned for "
            "a change of mind. If something arrived damaged or spoiled, tell me within 48 hours "
            "of delivery and I'll open a quality claim for a refund or replacement."
        )
    if reason is ReturnRefusal.WINDOW_PASSED and eligibility.deadline:
        return (
            f"The 7-day return window for order {order.number} closed on "
            f"{spoken_date(eligibility.deadline.date())}, so I can't open a no-reason return. "
            "If an item is faulty, tell me what's wrong and I'll open a quality claim."
        )
    if reason is ReturnRefusal.CANCELLED:
        return f"Order {order.number} was cancelled, so there is nothing to return."
    return (
        f"Order {order.number} already has a return or refund in progress. "
        "Ask me about your refund to see where it stands."
    )


def fresh_claim_deadline(shipment: Shipment) -> datetime | None:
    return shipment.delivered_at + FRESH_CLAIM_WINDOW if shipment.delivered_at else None
