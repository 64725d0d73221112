"""Follow-up questions about the order in hand, answered about that order, not in general.

Once a customer has proved an order, "can I get compensation for the wait?" means
"for this order": the policy article would end "ask me with your order number", which
a good agent never says to someone whose order is open in front of them. These rules
recognise such a question and answer it from the order, its shipment and the policy.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from bot.domain.calendar import spoken_date
from bot.domain.delays import (
    SHIPPING_REFUND_AFTER_DAYS,
    VOUCHER,
    VOUCHER_AFTER_DAYS,
    DelayAssessment,
    compensation_for,
)
from bot.domain.money import cny
from bot.domain.order_status import STATUS_IN_WORDS
from bot.domain.orders import ON_THE_WAY, Order, OrderStatus, Shipment
from bot.domain.returns import ReturnEligibility, ReturnRefusal, explain_return_refusal


class OrderQuestion(StrEnum):
    """What a follow-up asks about the order in hand (also `order_task` slot values)."""

    COMPENSATION = "compensation"
    SHIPPING_FEE = "shipping_fee"
    CARRIER = "carrier"
    RETURN_WINDOW = "return_window"


_PATTERNS: tuple[tuple[OrderQuestion, re.Pattern[str]], ...] = (
    (
        OrderQuestion.SHIPPING_FEE,
        re.compile(
            r"\b(shipping|delivery|postage|freight)\s+(fee|cost|charge|money)s?\b|\bpostage\b"
        ),
    ),
    (
        OrderQuestion.COMPENSATION,
        re.compile(
            r"\bcompensat|\bmake up for\b|\b(voucher|coupon|something|anything)\b.{0,25}"
            r"\b(wait|waiting|delay|delayed|late|trouble)\b|\b(wait|delay)\b.{0,25}\bvoucher\b"
        ),
    ),
    (
        OrderQuestion.CARRIER,
        re.compile(
            r"\b(contact|call|phone|ring|reach|number of|number for|talk to|speak to)\b.{0,25}"
            r"\b(courier|carrier|driver|delivery (guy|man|person|company))\b"
            r"|\b(courier|carrier|driver)'?s?\s+(phone|number|contact|hotline)\b"
            r"|\bwhich (courier|carrier|delivery company)\b|\bwho is delivering\b"
        ),
    ),
    (
        OrderQuestion.RETURN_WINDOW,
        re.compile(
            r"\b(how long|until when|till when|how many days|last day|deadline|still time)\b"
            r".{0,30}\breturn|\breturn\s+(window|deadline|period)\b"
            r"|\bcan i still (return|send (it|them) back)\b"
        ),
    ),
)

CARRIER_HOTLINES = {
    "SF Express": "95338",
    "JD Logistics": "950616",
    "YTO Express": "95554",
    "ZTO Express": "95311",
}


def order_question(text: str) -> OrderQuestion | None:
    """The order-specific question in a message, if it asks one (first match wins)."""
    lowered = " ".join(text.lower().split())
    for question, pattern in _PATTERNS:
        if pattern.search(lowered):
            return question
    return None


def days_late_on_arrival(shipment: Shipment | None) -> int:
    """How late a delivered parcel was against its promise (0 if on time or not delivered)."""
    if shipment is None or shipment.delivered_at is None:
        return 0
    return max((shipment.delivered_at.date() - shipment.promised_date).days, 0)


def _voucher_rule() -> str:
    return (
        f"a {cny(VOUCHER)} voucher is added automatically once a delivery is more than "
        f"{VOUCHER_AFTER_DAYS} days past its promised date, and the shipping fee comes back "
        f"after {SHIPPING_REFUND_AFTER_DAYS} days or when a declared incident holds it up"
    )


def answer_compensation(assessment: DelayAssessment) -> str:
    """What this order qualifies for under the delay policy, and whether it is already given."""
    order, shipment = assessment.order, assessment.shipment
    if assessment.is_late:
        day = "day" if assessment.days_late == 1 else "days"
        late = f"Order {order.number} is {assessment.days_late} {day} late"
        if assessment.compensation:
            return (
                f"{late}, so under our delay policy you get {assessment.compensation.describe()}. "
                "It's added to your account automatically; you don't need to claim it."
            )
        assert shipment is not None  # late implies shipped
        voucher_from = shipment.promised_date.toordinal() + VOUCHER_AFTER_DAYS + 1
        return (
            f"{late}, which is not yet enough for compensation: {_voucher_rule()}. If it hasn't "
            f"arrived by {spoken_date(date.fromordinal(voucher_from))}, the voucher is added "
            "without you asking."
        )
    if order.status is OrderStatus.DELIVERED and shipment and shipment.delivered_at:
        days = days_late_on_arrival(shipment)
        if days == 0:
            return (
                f"Order {order.number} was delivered on time, on "
                f"{spoken_date(shipment.delivered_at.date())}, so there is no delay "
                "compensation on it."
            )
        owed = compensation_for(order, days_late=days, incident=None)
        day = "day" if days == 1 else "days"
        if owed is None:
            return (
                f"Order {order.number} arrived {days} {day} after its promised date, which is "
                f"within our delay policy's grace: {_voucher_rule()}."
            )
        return (
            f"Order {order.number} arrived {days} {day} late, so you got {owed.describe()} "
            "under our delay policy; it was added to your account automatically."
        )
    if shipment and order.status in ON_THE_WAY:
        return (
            f"Order {order.number} isn't late: it's promised for "
            f"{spoken_date(shipment.promised_date)}, so there is no compensation on it. If it "
            f"runs late, {_voucher_rule()}."
        )
    return (
        f"Order {order.number} {STATUS_IN_WORDS[order.status]}, so no delivery promise has been "
        f"missed and there is no compensation on it. If a delivery runs late, {_voucher_rule()}."
    )


def answer_shipping_fee(assessment: DelayAssessment) -> str:
    """The fee paid on this order and whether the delay policy gives it back."""
    order = assessment.order
    if not order.shipping_fee:
        return f"Order {order.number} had free shipping, so there is no shipping fee to refund."
    paid = f"You paid {cny(order.shipping_fee)} shipping on order {order.number}."
    compensation = assessment.compensation
    if compensation and compensation.shipping_fee_refund:
        why = (
            f"it is held up by {assessment.incident.title}"
            if assessment.incident
            else f"it is more than {SHIPPING_REFUND_AFTER_DAYS} days late"
        )
        return (
            f"{paid} Because {why}, you get it back: it's refunded automatically to how you "
            "paid, with no need to claim it."
        )
    delivered_late = days_late_on_arrival(assessment.shipment)
    if delivered_late > SHIPPING_REFUND_AFTER_DAYS:
        return f"{paid} It arrived {delivered_late} days late, so the fee was refunded to you."
    if assessment.is_late:
        return (
            f"{paid} It's {assessment.days_late} days late; the fee is refunded automatically "
            f"once a delivery is more than {SHIPPING_REFUND_AFTER_DAYS} days late or held up "
            "by a declared incident."
        )
    return (
        f"{paid} It's refunded when a delivery is more than {SHIPPING_REFUND_AFTER_DAYS} days "
        "late or held up by a declared incident, or with a full return; neither applies to "
        "this order now."
    )


def answer_carrier(order_number: str, status: OrderStatus, shipment: Shipment | None) -> str:
    """Who carries the parcel and how to reach them."""
    if shipment is None:
        return (
            f"Order {order_number} {STATUS_IN_WORDS[status]} and hasn't been handed to a "
            "carrier yet, so there is no courier to contact. I'll have the carrier and "
            "tracking number as soon as it ships."
        )
    hotline = CARRIER_HOTLINES.get(shipment.carrier)
    reach = f" Their customer line is {hotline}; give them that tracking number." if hotline else ""
    return (
        f"Order {order_number} is with {shipment.carrier}, tracking number "
        f"{shipment.tracking_number}.{reach} If you'd like the delivery moved to another "
        "time or place, tell me and I'll check what we can change."
    )


def answer_return_window(eligibility: ReturnEligibility, order: Order, *, now: datetime) -> str:
    """Until when this order can go back, or why it cannot."""
    if eligibility.allowed and eligibility.deadline:
        days = (eligibility.deadline.date() - now.date()).days
        left = "today is the last day" if days <= 0 else f"{days} day{'s' * (days != 1)} left"
        text = (
            f"You can return order {order.number} without giving a reason until "
            f"{spoken_date(eligibility.deadline.date())} ({left})."
        )
        if eligibility.fresh_lines:
            text += " Fresh and chilled items can only go back for a quality problem."
        return text + " Just say so and I'll open the return."
    if eligibility.refusal is ReturnRefusal.NOT_DELIVERED:
        return (
            f"Order {order.number} hasn't been delivered yet. The 7-day return window starts "
            "on the day it's delivered; until then you can refuse the parcel at the door."
        )
    return explain_return_refusal(eligibility, order)
