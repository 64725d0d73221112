"""The demo shop: customers, orders and their lines, shipments, tracking events.

Revision ID: 0001_demo_shop
Revises:
Create Date: 2025-01-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_demo_shop"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose: a later change to the models must come with its own revision.
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
GOODS_KINDS = ("regular", "fresh", "chilled")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    op.create_table(
        "shop_customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shop_customers"),
        sa.UniqueConstraint("phone", name="uq_shop_customers_phone"),
        sa.UniqueConstraint("email", name="uq_shop_customers_email"),
    )
    op.create_index("ix_shop_customers_region", "shop_customers", ["region"])

    op.create_table(
        "shop_orders",
        sa.Column("number", sa.String(6), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_method", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_shop_orders"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["shop_customers.id"],
            name="fk_shop_orders_customer_id_shop_customers",
        ),
        sa.CheckConstraint(_one_of("status", ORDER_STATUSES), name="ck_shop_orders_status"),
        sa.CheckConstraint(
            _one_of("payment_method", PAYMENT_METHODS), name="ck_shop_orders_payment_method"
        ),
    )
    op.create_index("ix_shop_orders_customer_id", "shop_orders", ["customer_id"])
    op.create_index("ix_shop_orders_status", "shop_orders", ["status"])

    op.create_table(
        "shop_order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(6), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(10, 2), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shop_order_lines"),
        sa.ForeignKeyConstraint(
            ["order_number"],
            ["shop_orders.number"],
            name="fk_shop_order_lines_order_number_shop_orders",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "order_number", "line_no", name="uq_shop_order_lines_order_number_line_no"
        ),
        sa.CheckConstraint(_one_of("kind", GOODS_KINDS), name="ck_shop_order_lines_kind"),
        sa.CheckConstraint("quantity > 0", name="ck_shop_order_lines_quantity_positive"),
    )

    op.create_table(
        "shop_shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(6), nullable=False),
        sa.Column("carrier", sa.String(40), nullable=False),
        sa.Column("tracking_number", sa.String(32), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column("estimated_date", sa.Date(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_shop_shipments"),
        sa.ForeignKeyConstraint(
            ["order_number"],
            ["shop_orders.number"],
            name="fk_shop_shipments_order_number_shop_orders",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("order_number", name="uq_shop_shipments_order_number"),
        sa.UniqueConstraint("tracking_number", name="uq_shop_shipments_tracking_number"),
    )

    op.create_table(
        "shop_tracking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(120), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shop_tracking_events"),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shop_shipments.id"],
            name="fk_shop_tracking_events_shipment_id_shop_shipments",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_shop_tracking_events_shipment_id_at", "shop_tracking_events", ["shipment_id", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_shop_tracking_events_shipment_id_at", table_name="shop_tracking_events")
    op.drop_table("shop_tracking_events")
    op.drop_table("shop_shipments")
    op.drop_table("shop_order_lines")
    op.drop_index("ix_shop_orders_status", table_name="shop_orders")
    op.drop_index("ix_shop_orders_customer_id", table_name="shop_orders")
    op.drop_table("shop_orders")
    op.drop_index("ix_shop_customers_region", table_name="shop_customers")
    op.drop_table("shop_customers")
