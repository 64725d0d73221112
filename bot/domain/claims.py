"""Quality claims for damaged, spoiled, wrong or missing items: the shop's responsibility.

Fresh and chilled goods must be reported within 48 hours of delivery, regular
goods within 7 days; the customer chooses a refund or a free replacement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot.domain.aftersales import QualityClaim, Resolution
from bot.domain.calendar import spoken_date
from bot.domain.money import cny
from bot.domain.orders import GoodsKind, Order, OrderLine, OrderStatus, Shipment

FRESH_WINDOW = timedelta(hours=48)
REGULAR_WINDOW = timedelta(days=7)
MIN_DESCRIPTION_CHARS = 8
MAX_DESCRIPTION_CHARS = 1000
REPLACEMENT_WORDS = ("replace", "new one", "another", "resend", "send again", "exchange")


@dataclass(frozen=True)
class ClaimEligibility:
    lines: tuple[OrderLine, ...]  # the lines still inside their reporting window
    reason: str | None  # why nothing can be claimed, in words; None when allowed

    @property
    def value(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


def _window(line: OrderLine) -> timedelta:
    return REGULAR_WINDOW if line.kind is GoodsKind.REGULAR else FRESH_WINDOW


def assess_claim(order: Order, shipment: Shipment | None, *, now: datetime) -> ClaimEligibility:
    delivered_at = shipment.delivered_at if shipment else None
    received = order.status in (OrderStatus.DELIVERED, OrderStatus.RETURN_REQUESTED)
    if not received or delivered_at is None:
        return ClaimEligibility(
            (),
            f"Order {order.number} hasn't been delivered yet, so there's nothing to claim for. "
            "If the parcel looks damaged when it arrives, you can refuse it at the door.",
        )
    open_lines = tuple(line for line in order.lines if now <= delivered_at + _window(line))
    if not open_lines:
        return ClaimEligibility(
            (),
            f"Order {order.number} was delivered on {spoken_date(delivered_at.date())}: quality "
            "problems must be reported within 48 hours for fresh goods and 7 days for other "
            "goods, so I can't open a claim here. Our support team can still look at it.",
        )
    return ClaimEligibility(open_lines, None)


def description_problem(text: str) -> str | None:
    cleaned = " ".join(text.split())
    if len(cleaned) < MIN_DESCRIPTION_CHARS:
        return "Could you tell me a bit more: which item, and what's wrong with it?"
    if len(cleaned) > MAX_DESCRIPTION_CHARS:
        return f"That's a lot to take in; please keep it under {MAX_DESCRIPTION_CHARS} characters."
    return None


def parse_resolution(text: str) -> Resolution | None:
    lowered = text.lower()
    wants_refund = any(word in lowered for word in ("refund", "money", "repay", "pay me back"))
    wants_replacement = any(word in lowered for word in REPLACEMENT_WORDS)
    if wants_refund == wants_replacement:
        return None
    return Resolution.REFUND if wants_refund else Resolution.REPLACEMENT


def describe_claim(claim: QualityClaim, eligibility: ClaimEligibility) -> str:
    items = ", ".join(line.name for line in eligibility.lines)
    outcome = (
        f"a refund of {cny(eligibility.value)}"
        if claim.resolution is Resolution.REFUND
        else f"a free replacement of {items}, sent within 2 working days"
    )
    return (
        f"I've opened quality claim {claim.id} for {items}, with {outcome}. "
        "We'll e-mail you a link to upload photos of the problem; once we have them the claim is "
        "settled within 1 working day. You don't need to send anything back."
    )
