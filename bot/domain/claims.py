"""Quality claims for damaged, spoiled, wrong or missing items: the shop's responsibility.

Fresh and chilled goods must be reported within 48 hours of delivery, regular
goods within 7 days; the customer chooses a refund or a free replacement. An item
has at most one claim in progress: reporting it again finds the open claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from bot.domain.aftersales import QualityClaim, Refund, Resolution
from bot.domain.calendar import spoken_date
from bot.domain.money import cny
from bot.domain.orders import GoodsKind, Order, OrderLine, OrderStatus, Shipment

FRESH_WINDOW = timedelta(hours=48)
REGULAR_WINDOW = timedelta(days=7)
MIN_DESCRIPTION_CHARS = 8
MAX_DESCRIPTION_CHARS = 1000
REPLACEMENT_WORDS = ("replace", "new one", "another", "resend", "send again", "exchange")
# A claim in these states is still being settled; "resolved" and "rejected" ones are done.
OPEN_CLAIM_STATUSES = frozenset({"open", "approved"})


@dataclass(frozen=True)
class ClaimEligibility:
    # The lines inside their reporting window and without a claim in progress.
    lines: tuple[OrderLine, ...]
    reason: str | None  # why nothing can be claimed, in words; None when allowed
    # Claims in progress for lines inside their window, for the customer to hear about.
    already_open: tuple[QualityClaim, ...] = field(default=())

    @property
    def value(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


def _window(line: OrderLine) -> timedelta:
    return REGULAR_WINDOW if line.kind is GoodsKind.REGULAR else FRESH_WINDOW


def open_claims(claims: Sequence[QualityClaim]) -> tuple[QualityClaim, ...]:
    return tuple(claim for claim in claims if claim.status in OPEN_CLAIM_STATUSES)


def _names(order: Order, skus: Sequence[str]) -> str:
    return ", ".join(line.name for line in order.lines if line.sku in skus) or ", ".join(skus)


def describe_open_claims(order: Order, claims: Sequence[QualityClaim]) -> str:
    return " ".join(
        f"Quality claim {claim.id} is already open for {_names(order, claim.skus)}."
        for claim in claims
    )


def assess_claim(
    order: Order,
    shipment: Shipment | None,
    *,
    now: datetime,
    claims: Sequence[QualityClaim] = (),
) -> ClaimEligibility:
    """`claims` are the order's claims so far: an item with one in progress is not claimed
    for twice (the shop's backend refuses it too), the customer hears which claim has it."""
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
    in_progress = open_claims(claims)
    claimed = {sku for claim in in_progress for sku in claim.skus}
    unclaimed = tuple(line for line in open_lines if line.sku not in claimed)
    touching = tuple(c for c in in_progress if set(c.skus) & {line.sku for line in open_lines})
    if not unclaimed:
        return ClaimEligibility(
            (),
            f"{describe_open_claims(order, touching)} There's no need to report it again: "
            "we'll e-mail you a link to upload photos of the problem, and once we have them "
            "the claim is settled within 1 working day. If it's about something else, our "
            "support team can help.",
            touching,
        )
    return ClaimEligibility(unclaimed, None, touching)


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


def describe_claim(
    claim: QualityClaim, eligibility: ClaimEligibility, refund: Refund | None = None
) -> str:
    """`refund`: the refund made for a refund claim (never more than was left to refund)."""
    items = ", ".join(line.name for line in eligibility.lines)
    if claim.resolution is Resolution.REPLACEMENT:
        outcome = f"a free replacement of {items}, sent within 2 working days"
    else:
        amount = refund.amount if refund is not None else eligibility.value
        outcome = f"a refund of {cny(amount)}"
        if amount < eligibility.value:
            outcome += " (all that is left to refund on this order)"
    return (
        f"I've opened quality claim {claim.id} for {items}, with {outcome}. "
        "We'll e-mail you a link to upload photos of the problem; once we have them the claim is "
        "settled within 1 working day. You don't need to send anything back."
    )


def describe_claim_filed(claim: QualityClaim, eligibility: ClaimEligibility) -> str:
    """What was done when the refund that should follow could not be made."""
    items = ", ".join(line.name for line in eligibility.lines)
    return f"I've opened quality claim {claim.id} for {items}."


def explain_nothing_to_refund(order: Order) -> str:
    """Said before anything is filed: a claim whose refund cannot be paid helps nobody."""
    return (
        f"Order {order.number} has already been refunded in full, so there's nothing left to "
        "refund and I haven't opened a claim. If you'd like a free replacement instead, tell me "
        "about the problem again and choose a replacement."
    )
