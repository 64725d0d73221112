"""Orders, shipments and tracking events as the shop's systems report them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PACKED = "packed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURN_REQUESTED = "return_requested"
    REFUNDED = "refunded"


# Orders in these states are with a carrier and may be late against their promise.
ON_THE_WAY = frozenset({OrderStatus.SHIPPED, OrderStatus.IN_TRANSIT, OrderStatus.OUT_FOR_DELIVERY})
# Orders whose delivery is still ahead of them: the ones an incident can hold up.
AWAITING_DELIVERY = (
    frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.PACKED}) | ON_THE_WAY
)


@dataclass(frozen=True)
class OrderInScope:
    """An open order an incident covers: enough to count it and to reach its customer."""

    number: str
    customer_id: int
    status: OrderStatus


class GoodsKind(StrEnum):
    """Fresh and chilled goods follow stricter return rules than regular ones."""

    REGULAR = "regular"
    FRESH = "fresh"
    CHILLED = "chilled"


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    phone: str
    email: str
    region: str


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    kind: GoodsKind


@dataclass(frozen=True)
class Order:
    number: str
    status: OrderStatus
    placed_at: datetime
    customer: Customer
    lines: tuple[OrderLine, ...] = field(default_factory=tuple)
    payment_method: str = "card"
    delivery_address: str = ""
    shipping_fee: Decimal = Decimal("0")

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class TrackingEvent:
    at: datetime
    location: str
    description: str


@dataclass(frozen=True)
class Shipment:
    order_number: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    promised_date: date
    estimated_date: date | None = None
    delivered_at: datetime | None = None
    events: tuple[TrackingEvent, ...] = field(default_factory=tuple)

    @property
    def latest_event(self) -> TrackingEvent | None:
        return max(self.events, key=lambda event: event.at) if self.events else None
