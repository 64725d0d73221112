"""After-sales and incidents: order addresses and fees, returns, refunds, claims, incidents.

Revision ID: 0002_aftersales_and_incidents
Revises: 0001_demo_shop
Create Date: 2025-01-13
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_aftersales_and_incidents"
down_revision: str | Sequence[str] | None = "0001_demo_shop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose: a later change to the models must come with its own revision.
REFUND_METHODS = ("wallet", "card", "bank_transfer")
RETURN_KINDS = ("no_reason", "quality")
RETURN_STATUSES = ("requested", "approved", "received", "completed", "rejected")
REFUND_STATUSES = ("pending", "processing", "paid")
RESOLUTIONS = ("refund", "replacement")
CLAIM_STATUSES = ("open", "approved", "resolved", "rejected")
INCIDENT_KINDS = ("regional_lockdown", "carrier_outage", "weather", "warehouse")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _order_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["order_number"],
        ["shop_orders.number"],
        name=f"fk_{table}_order_number_shop_orders",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    # Plain string defaults: SQLite then adds the columns in place, with no table rebuild.
    with op.batch_alter_table("shop_orders") as batch:
        batch.add_column(
            sa.Column("delivery_address", sa.String(200), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("shipping_fee", sa.Numeric(10, 2), server_default="0", nullable=False)
        )

    op.create_table(
        "shop_returns",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("order_number", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("skus", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shop_returns"),
        _order_fk("shop_returns"),
        sa.CheckConstraint(_one_of("kind", RETURN_KINDS), name="ck_shop_returns_kind"),
        sa.CheckConstraint(_one_of("status", RETURN_STATUSES), name="ck_shop_returns_status"),
    )
    op.create_index("ix_shop_returns_order_number", "shop_returns", ["order_number"])

    op.create_table(
        "shop_refunds",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("order_number", sa.String(6), nullable=False),
        sa.Column("return_id", sa.String(20), nullable=True),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_by", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shop_refunds"),
        _order_fk("shop_refunds"),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["shop_returns.id"],
            name="fk_shop_refunds_return_id_shop_returns",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(_one_of("method", REFUND_METHODS), name="ck_shop_refunds_method"),
        sa.CheckConstraint(_one_of("status", REFUND_STATUSES), name="ck_shop_refunds_status"),
        sa.CheckConstraint("amount > 0", name="ck_shop_refunds_amount_positive"),
    )
    op.create_index("ix_shop_refunds_order_number", "shop_refunds", ["order_number"])
    op.create_index("ix_shop_refunds_return_id", "shop_refunds", ["return_id"])

    op.create_table(
        "shop_quality_claims",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("order_number", sa.String(6), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("resolution", sa.String(12), nullable=False),
        sa.Column("skus", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shop_quality_claims"),
        _order_fk("shop_quality_claims"),
        sa.CheckConstraint(
            _one_of("resolution", RESOLUTIONS), name="ck_shop_quality_claims_resolution"
        ),
        sa.CheckConstraint(_one_of("status", CLAIM_STATUSES), name="ck_shop_quality_claims_status"),
    )
    op.create_index("ix_shop_quality_claims_order_number", "shop_quality_claims", ["order_number"])

    op.create_table(
        "shop_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("carriers", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_recovery", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_note", sa.Text(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shop_incidents"),
        sa.CheckConstraint(_one_of("kind", INCIDENT_KINDS), name="ck_shop_incidents_kind"),
        sa.CheckConstraint("severity BETWEEN 1 AND 4", name="ck_shop_incidents_severity"),
        sa.CheckConstraint(
            "resolved_at IS NULL OR resolved_at >= started_at",
            name="ck_shop_incidents_resolved_after_start",
        ),
    )
    op.create_index("ix_shop_incidents_started_at", "shop_incidents", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_shop_incidents_started_at", table_name="shop_incidents")
    op.drop_table("shop_incidents")
    op.drop_index("ix_shop_quality_claims_order_number", table_name="shop_quality_claims")
    op.drop_table("shop_quality_claims")
    op.drop_index("ix_shop_refunds_return_id", table_name="shop_refunds")
    op.drop_index("ix_shop_refunds_order_number", table_name="shop_refunds")
    op.drop_table("shop_refunds")
    op.drop_index("ix_shop_returns_order_number", table_name="shop_returns")
    op.drop_table("shop_returns")
    # Not batch mode: rebuilding shop_orders on SQLite drops the old table, and with foreign
    # keys on that drop cascades to every order line and shipment. SQLite 3.35 and later
    # drop a plain column in place, as PostgreSQL does.
    op.drop_column("shop_orders", "shipping_fee")
    op.drop_column("shop_orders", "delivery_address")
