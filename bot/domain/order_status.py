"""What a verified customer is told about their order, in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.orders import ON_THE_WAY, Order, OrderStatus, Shipment, TrackingEvent

STATUS_IN_WORDS: dict[OrderStatus, str] = {
    OrderStatus.PENDING_PAYMENT: "is waiting for your payment to come through",
    OrderStatus.PAID: "is paid and waiting to be picked at our warehouse",
    OrderStatus.PACKED: "is packed and waiting for the carrier to collect it",
    OrderStatus.SHIPPED: "has been handed to the carrier",
    OrderStatus.IN_TRANSIT: "is on its way",
    OrderStatus.OUT_FOR_DELIVERY: "is out for delivery",
    OrderStatus.DELIVERED: "has been delivered",
    OrderStatus.CANCELLED: "was cancelled",
    OrderStatus.RETURN_REQUESTED: "has a return in progress",
    OrderStatus.REFUNDED: "has been refunded",
}


@dataclass(frozen=True)
class StatusReport:
    order_number: str
    status: OrderStatus
    carrier: str | None
    tracking_number: str | None
    latest_event: TrackingEvent | None
    promised_date: date | None
    estimated_date: date | None
    delivered_on: date | None
    is_late: bool


def build_status_report(order: Order, shipment: Shipment | None, *, today: date) -> StatusReport:
    """An order is late only while it is still on the way after its promised date."""
    late = bool(shipment and order.status in ON_THE_WAY and shipment.promised_date < today)
    return StatusReport(
        order_number=order.number,
        status=order.status,
        carrier=shipment.carrier if shipment else None,
        tracking_number=shipment.tracking_number if shipment else None,
        latest_event=shipment.latest_event if shipment else None,
        promised_date=shipment.promised_date if shipment else None,
        estimated_date=shipment.estimated_date if shipment else None,
        delivered_on=shipment.delivered_at.date() if shipment and shipment.delivered_at else None,
        is_late=late,
    )


def _day(value: date) -> str:
    return f"{value:%a %d %b %Y}"


def render_status_report(report: StatusReport) -> str:
    """Several short lines: status first, then carrier, tracking, last event, dates."""
    lines = [f"Order {report.order_number} {STATUS_IN_WORDS[report.status]}."]
    if report.carrier and report.tracking_number:
        lines.append(f"Carrier: {report.carrier}, tracking number {report.tracking_number}.")
    elif report.status not in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        lines.append("It has not been handed to a carrier yet, so there is no tracking number.")
    if report.latest_event:
        event = report.latest_event
        lines.append(
            f"Latest update: {event.description}, {event.location}, {event.at:%d %b %H:%M}."
        )
    if report.delivered_on:
        lines.append(f"Delivered on {_day(report.delivered_on)}.")
    elif report.is_late and report.promised_date:
        estimate = (
            f"the carrier's new estimate is {_day(report.estimated_date)}"
            if report.estimated_date
            else "the carrier has not given a new date yet"
        )
        lines.append(
            f"It was promised for {_day(report.promised_date)}, so it is running late; {estimate}."
        )
    elif report.promised_date and report.status in ON_THE_WAY:
        lines.append(f"Expected delivery: {_day(report.estimated_date or report.promised_date)}.")
    return "\n".join(lines)
