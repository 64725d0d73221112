"""Is an order really late, why, when will it come, and what does the shop owe for it.

Compensation follows the shop's policy: a CNY 10 voucher once a delivery is more
than 2 days past its promised date; the shipping fee back once it is more than 5
days late or when a declared incident delays it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.domain.calendar import spoken_date
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incidents import Incident, most_relevant
from bot.domain.money import cny
from bot.domain.order_status import STATUS_IN_WORDS
from bot.domain.orders import ON_THE_WAY, Order, OrderStatus, Shipment

VOUCHER = Decimal("10")
VOUCHER_AFTER_DAYS = 2
SHIPPING_REFUND_AFTER_DAYS = 5


@dataclass(frozen=True)
class Compensation:
    voucher: Decimal
    shipping_fee_refund: Decimal

    def describe(self) -> str:
        parts = []
        if self.voucher:
            parts.append(f"a {cny(self.voucher)} voucher")
        if self.shipping_fee_refund:
            parts.append(f"your shipping fee of {cny(self.shipping_fee_refund)} back")
        return " and ".join(parts)


@dataclass(frozen=True)
class DelayAssessment:
    order: Order
    shipment: Shipment | None
    days_late: int
    incident: Incident | None
    new_estimate: date | None
    compensation: Compensation | None

    @property
    def is_late(self) -> bool:
        return self.days_late > 0


def compensation_for(
    order: Order, *, days_late: int, incident: Incident | None
) -> Compensation | None:
    voucher = VOUCHER if days_late > VOUCHER_AFTER_DAYS else Decimal("0")
    refund_fee = days_late > SHIPPING_REFUND_AFTER_DAYS or (incident is not None and days_late > 0)
    fee = order.shipping_fee if refund_fee else Decimal("0")
    return Compensation(voucher, fee) if voucher or fee else None


def assess_delay(
    order: Order, shipment: Shipment | None, incidents: Sequence[Incident], *, today: date
) -> DelayAssessment:
    """Only an order still on the way after its promised date is late."""
    carrier = shipment.carrier if shipment else None
    ordered_on = order.placed_at.astimezone(SHOP_TIMEZONE).date()
    incident = most_relevant(
        [
            i
            for i in incidents
            if i.affects(region=order.customer.region, carrier=carrier, ordered_on=ordered_on)
        ]
    )
    late = bool(shipment and order.status in ON_THE_WAY and shipment.promised_date < today)
    days_late = (today - shipment.promised_date).days if late and shipment else 0
    estimate = shipment.estimated_date if shipment else None
    if late and estimate is None and incident and incident.expected_recovery:
        estimate = incident.expected_recovery.date() + timedelta(days=1)
    return DelayAssessment(
        order=order,
        shipment=shipment,
        days_late=days_late,
        incident=incident,
        new_estimate=estimate,
        compensation=compensation_for(order, days_late=days_late, incident=incident),
    )


def _cause(assessment: DelayAssessment) -> str:
    if assessment.incident:
        return f"It's affected by {assessment.incident.title}: {assessment.incident.customer_note}"
    event = assessment.shipment.latest_event if assessment.shipment else None
    if event and "held" in event.description.lower():
        return f"The carrier reports: {event.description} ({event.location})."
    return "The carrier hasn't given us a reason yet; we have asked them to check."


def render_delay(assessment: DelayAssessment) -> str:
    order, shipment = assessment.order, assessment.shipment
    if not assessment.is_late:
        if order.status is OrderStatus.DELIVERED and shipment and shipment.delivered_at:
            return (
                f"Order {order.number} isn't late: it was delivered on "
                f"{spoken_date(shipment.delivered_at.date())}. If you can't find it, tell me "
                "and I'll look into it with the carrier."
            )
        if shipment and order.status in ON_THE_WAY:
            text = (
                f"Order {order.number} isn't late: it {STATUS_IN_WORDS[order.status]} with "
                f"{shipment.carrier} and is promised for {spoken_date(shipment.promised_date)}."
            )
            if assessment.incident:
                incident = assessment.incident
                text += f" Heads-up: {incident.title}. {incident.customer_note}"
            return text
        return (
            f"Order {order.number} {STATUS_IN_WORDS[order.status]}, so it isn't late against "
            "a delivery promise yet."
        )
    assert shipment is not None  # late implies shipped
    day = "day" if assessment.days_late == 1 else "days"
    lines = [
        f"Yes, order {order.number} is late: it was promised for "
        f"{spoken_date(shipment.promised_date)}, {assessment.days_late} {day} ago.",
        _cause(assessment),
    ]
    if assessment.new_estimate:
        lines.append(f"New estimated delivery: {spoken_date(assessment.new_estimate)}.")
    else:
        lines.append("There's no new delivery date yet; I'll have one as soon as the carrier does.")
    if assessment.compensation:
        owed = assessment.compensation.describe()
        lines.append(
            f"Sorry for the wait. Under our delay policy you get {owed}; "
            "it's added to your account automatically."
        )
    else:
        lines.append(
            f"Under our delay policy a {cny(VOUCHER)} voucher is added automatically once a "
            f"delivery is more than {VOUCHER_AFTER_DAYS} days late."
        )
    return "\n".join(lines)


def incident_heads_up(assessment: DelayAssessment) -> str:
    """The cause first: the incident holding this order up, its note, and what it earns.

    Said before any answer about an affected order (status, return, cancel...), once per
    conversation, so the customer hears why before they have to ask.
    """
    incident = assessment.incident
    assert incident is not None  # only called for an order an incident affects
    order = assessment.order
    text = f"First, a heads-up: order {order.number} is affected by {incident.title}. "
    text += incident.customer_note.strip()
    if assessment.compensation:
        owed = assessment.compensation.describe()
        return f"{text} Under our delay policy you get {owed} for it, added automatically."
    return (
        f"{text} If it delays your order past its promised date, you get your shipping fee "
        f"back, and a {cny(VOUCHER)} voucher once it is more than {VOUCHER_AFTER_DAYS} days late."
    )
