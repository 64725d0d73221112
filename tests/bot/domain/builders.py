"""Small builders for domain objects, so each rule test states only what matters to it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incidents import Incident, IncidentKind
from bot.domain.orders import (
    Customer,
    GoodsKind,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    TrackingEvent,
)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=SHOP_TIMEZONE)  # a Friday
TODAY = NOW.date()
CUSTOMER = Customer(7, "Li Wei", "+86 138 0013 4521", "li.wei@example.com", "Shanghai")
RICE_COOKER = OrderLine("EL-0042", "Rice cooker", 1, Decimal("399.00"), GoodsKind.REGULAR)
STRAWBERRIES = OrderLine("FR-0007", "Strawberries 500 g", 2, Decimal("39.90"), GoodsKind.FRESH)


def order(
    status: OrderStatus = OrderStatus.DELIVERED,
    *,
    lines: tuple[OrderLine, ...] = (RICE_COOKER,),
    payment_method: str = "card",
    shipping_fee: Decimal = Decimal("0"),
) -> Order:
    return Order(
        number="100245",
        status=status,
        placed_at=NOW - timedelta(days=6),
        customer=CUSTOMER,
        lines=lines,
        payment_method=payment_method,
        delivery_address="Room 1203, 88 Zhongshan Road, Jing'an District, Shanghai",
        shipping_fee=shipping_fee,
    )


def shipment(
    *,
    promised: date = TODAY + timedelta(days=1),
    delivered_at: datetime | None = None,
    estimated: date | None = None,
    last_event: str = "Arrived at the sorting hub",
) -> Shipment:
    return Shipment(
        order_number="100245",
        carrier="SF Express",
        tracking_number="SF1234567890123",
        shipped_at=NOW - timedelta(days=4),
        promised_date=promised,
        estimated_date=estimated,
        delivered_at=delivered_at,
        events=(TrackingEvent(NOW - timedelta(hours=5), "Wuhan hub", last_event),),
    )


def incident(**changes: object) -> Incident:
    base = Incident(
        id=1,
        kind=IncidentKind.REGIONAL_LOCKDOWN,
        title="the Shanghai lockdown",
        started_at=NOW - timedelta(days=3),
        customer_note="Deliveries go to community pick-up points.",
        regions=("Shanghai",),
        expected_recovery=NOW + timedelta(days=2),
    )
    return replace(base, **changes)  # type: ignore[arg-type]
