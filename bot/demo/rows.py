"""The demo shop's rows, one TypedDict per table, keyed by column name.

The seed inserts them as they are, and tests compare them with what the
database hands back, so the keys must match `bot.storage.shop_tables` exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypedDict


class CustomerRow(TypedDict):
    id: int
    name: str
    phone: str
    email: str
    region: str


class OrderRow(TypedDict):
    number: str
    customer_id: int
    status: str
    placed_at: datetime
    payment_method: str
    delivery_address: str
    shipping_fee: Decimal


class LineRow(TypedDict):
    id: int
    order_number: str
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    kind: str


class ShipmentRow(TypedDict):
    id: int
    order_number: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    promised_date: date
    estimated_date: date | None
    delivered_at: datetime | None


class EventRow(TypedDict):
    id: int
    shipment_id: int
    at: datetime
    location: str
    description: str


class ReturnRow(TypedDict):
    id: str
    order_number: str
    kind: str
    skus: list[str]
    reason: str
    status: str
    created_at: datetime


class RefundRow(TypedDict):
    id: str
    order_number: str
    return_id: str | None
    amount: Decimal
    method: str
    status: str
    created_at: datetime
    expected_by: date
    reason: str


class ClaimRow(TypedDict):
    id: str
    order_number: str
    description: str
    resolution: str
    skus: list[str]
    status: str
    created_at: datetime
    notes: list[str]


class IncidentRow(TypedDict):
    id: int
    kind: str
    title: str
    regions: list[str]
    carriers: list[str]
    started_at: datetime
    expected_recovery: datetime | None
    resolved_at: datetime | None
    customer_note: str
    severity: int


@dataclass
class DemoShop:
    customers: list[CustomerRow] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)
    lines: list[LineRow] = field(default_factory=list)
    shipments: list[ShipmentRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    returns: list[ReturnRow] = field(default_factory=list)
    refunds: list[RefundRow] = field(default_factory=list)
    claims: list[ClaimRow] = field(default_factory=list)
    incidents: list[IncidentRow] = field(default_factory=list)

    def rows_by_table(self) -> dict[str, Sequence[Mapping[str, object]]]:
        """What the seed inserts into each table."""
        return {
            "shop_customers": self.customers,
            "shop_orders": self.orders,
            "shop_order_lines": self.lines,
            "shop_shipments": self.shipments,
            "shop_tracking_events": self.events,
            "shop_returns": self.returns,
            "shop_refunds": self.refunds,
            "shop_quality_claims": self.claims,
            "shop_incidents": self.incidents,
        }
