"""The demo shop's own database: orders and their journeys, after-sales cases, incidents.

This stands in for a real shop's order and logistics systems, which Shopdesk
reads only through `bot.backends`. It has its own metadata and its own Alembic
history (`migrations/shop`), so it can live in a separate database or share
one with Shopdesk's tables; the `shop_` prefix keeps the names apart.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.domain.clock import SHOP_TIMEZONE

ORDER_STATUSES = (
    "pending_payment",
    "paid",
    "packed",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "cancelled",
    "return_requested",
    "refunded",
)
PAYMENT_METHODS = ("wallet", "card", "bank_transfer", "cash_on_delivery")
# Cash on delivery is refunded to the shop wallet: there is no card or account to pay back.
REFUND_METHODS = ("wallet", "card", "bank_transfer")
GOODS_KINDS = ("regular", "fresh", "chilled")
RETURN_KINDS = ("no_reason", "quality")
# requested -> approved (waiting for the parcel) -> received (being checked) -> completed.
RETURN_STATUSES = ("requested", "approved", "received", "completed", "rejected")
REFUND_STATUSES = ("pending", "processing", "paid")
RESOLUTIONS = ("refund", "replacement")
CLAIM_STATUSES = ("open", "approved", "resolved", "rejected")
INCIDENT_KINDS = ("regional_lockdown", "carrier_outage", "weather", "warehouse")

# Named constraints, so that Alembic's batch mode can rebuild SQLite tables later.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class ShopDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC, hands back aware Beijing time.

    Customers read these times in replies, so they must be local; being aware
    keeps them comparable with `datetime.now(UTC)` elsewhere. SQLite keeps no
    zone, so naive values from it are taken as the UTC they were stored as.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the shop stores aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        stored = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stored.astimezone(SHOP_TIMEZONE)


class ShopBase(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class ShopCustomer(ShopBase):
    __tablename__ = "shop_customers"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    # Stored as the customer typed it ("+86 138 1234 5678"); verification compares digits.
    phone: Mapped[str] = mapped_column(sa.String(32), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    region: Mapped[str] = mapped_column(sa.String(64), index=True)


class ShopOrder(ShopBase):
    __tablename__ = "shop_orders"
    __table_args__ = (
        sa.CheckConstraint(_one_of("status", ORDER_STATUSES), name="status"),
        sa.CheckConstraint(_one_of("payment_method", PAYMENT_METHODS), name="payment_method"),
    )

    # The number customers quote: six digits, handed out in the order orders were placed.
    number: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_customers.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    placed_at: Mapped[datetime] = mapped_column(ShopDateTime())
    payment_method: Mapped[str] = mapped_column(sa.String(20))
    # Server defaults keep orders written before these columns existed valid.
    delivery_address: Mapped[str] = mapped_column(sa.String(200), server_default="")
    shipping_fee: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2), server_default="0")  # CNY

    customer: Mapped[ShopCustomer] = relationship(lazy="joined")
    lines: Mapped[list[ShopOrderLine]] = relationship(order_by="ShopOrderLine.line_no")


class ShopOrderLine(ShopBase):
    """A copy of the product as sold: later price changes must not rewrite old orders."""

    __tablename__ = "shop_order_lines"
    __table_args__ = (
        sa.UniqueConstraint("order_number", "line_no"),
        sa.CheckConstraint(_one_of("kind", GOODS_KINDS), name="kind"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    order_number: Mapped[str] = mapped_column(
        sa.ForeignKey("shop_orders.number", ondelete="CASCADE")
    )
    line_no: Mapped[int] = mapped_column(sa.Integer)
    sku: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(120))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    unit_price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))  # CNY
    kind: Mapped[str] = mapped_column(sa.String(10))


class ShopShipment(ShopBase):
    __tablename__ = "shop_shipments"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    # One parcel per order in the demo shop; unique also serves the lookup by order.
    order_number: Mapped[str] = mapped_column(
        sa.ForeignKey("shop_orders.number", ondelete="CASCADE"), unique=True
    )
    carrier: Mapped[str] = mapped_column(sa.String(40))
    tracking_number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    shipped_at: Mapped[datetime] = mapped_column(ShopDateTime())
    promised_date: Mapped[date] = mapped_column(sa.Date)
    # The carrier's new estimate once the promise is missed; None until it gives one.
    estimated_date: Mapped[date | None] = mapped_column(sa.Date)
    delivered_at: Mapped[datetime | None] = mapped_column(ShopDateTime())

    events: Mapped[list[ShopTrackingEvent]] = relationship(
        order_by="(ShopTrackingEvent.at, ShopTrackingEvent.id)"
    )


class ShopTrackingEvent(ShopBase):
    __tablename__ = "shop_tracking_events"
    __table_args__ = (sa.Index(None, "shipment_id", "at"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_shipments.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(ShopDateTime())
    location: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.String(200))


class ShopReturn(ShopBase):
    """Ids are what customers quote ("R-2025-000123"): year of the request, then a serial."""

    __tablename__ = "shop_returns"
    __table_args__ = (
        sa.CheckConstraint(_one_of("kind", RETURN_KINDS), name="kind"),
        sa.CheckConstraint(_one_of("status", RETURN_STATUSES), name="status"),
    )

    id: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    order_number: Mapped[str] = mapped_column(
        sa.ForeignKey("shop_orders.number", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(10))
    skus: Mapped[list[str]] = mapped_column(sa.JSON)  # a subset of the order's lines
    reason: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(ShopDateTime())


class ShopRefund(ShopBase):
    __tablename__ = "shop_refunds"
    __table_args__ = (
        sa.CheckConstraint(_one_of("method", REFUND_METHODS), name="method"),
        sa.CheckConstraint(_one_of("status", REFUND_STATUSES), name="status"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[str] = mapped_column(sa.String(20), primary_key=True)  # "RF-2025-000456"
    order_number: Mapped[str] = mapped_column(
        sa.ForeignKey("shop_orders.number", ondelete="CASCADE"), index=True
    )
    # Set when the refund pays for a return; cancellations and claims have none.
    return_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("shop_returns.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))  # CNY
    method: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(ShopDateTime())
    # What the customer was told; working days by payment method, as the refund policy says.
    expected_by: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(500))


class ShopQualityClaim(ShopBase):
    __tablename__ = "shop_quality_claims"
    __table_args__ = (
        sa.CheckConstraint(_one_of("resolution", RESOLUTIONS), name="resolution"),
        sa.CheckConstraint(_one_of("status", CLAIM_STATUSES), name="status"),
    )

    id: Mapped[str] = mapped_column(sa.String(20), primary_key=True)  # "QC-2025-000078"
    order_number: Mapped[str] = mapped_column(
        sa.ForeignKey("shop_orders.number", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(sa.String(1000))
    resolution: Mapped[str] = mapped_column(sa.String(12))
    skus: Mapped[list[str]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(ShopDateTime())
    notes: Mapped[list[str]] = mapped_column(sa.JSON)  # customer service's log, oldest first


class ShopIncident(ShopBase):
    """What the emergency group declared; regions and carriers name what it covers."""

    __tablename__ = "shop_incidents"
    __table_args__ = (
        sa.CheckConstraint(_one_of("kind", INCIDENT_KINDS), name="kind"),
        sa.CheckConstraint("severity BETWEEN 1 AND 4", name="severity"),
        sa.CheckConstraint(
            "resolved_at IS NULL OR resolved_at >= started_at", name="resolved_after_start"
        ),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    regions: Mapped[list[str]] = mapped_column(sa.JSON)  # customer region labels
    carriers: Mapped[list[str]] = mapped_column(sa.JSON)  # carrier names
    started_at: Mapped[datetime] = mapped_column(ShopDateTime(), index=True)
    expected_recovery: Mapped[datetime | None] = mapped_column(ShopDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(ShopDateTime())
    customer_note: Mapped[str] = mapped_column(sa.Text)
    severity: Mapped[int] = mapped_column(sa.Integer)  # 1 local fault .. 4 major disaster
