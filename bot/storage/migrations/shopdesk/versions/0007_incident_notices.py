"""incident notices: batches, the outbox of notices to customers, and opt-outs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notice_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.String(24), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_notice_batches_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_notice_batches_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_batches")),
    )
    op.create_table(
        "notices",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("order_numbers", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("sent_at", _AT, nullable=True),
        sa.Column("error", sa.String(64), nullable=True),
        sa.Column("claimed_at", _AT, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("message_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["notice_batches.id"],
            name=op.f("fk_notices_batch_id_notice_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["channel_accounts.id"],
            name=op.f("fk_notices_account_id_channel_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint(
            "batch_id", "customer_id", name=op.f("uq_notices_batch_id_customer_id")
        ),
    )
    op.create_index(op.f("ix_notices_state_id"), "notices", ["state", "id"])
    op.create_index(op.f("ix_notices_account_id"), "notices", ["account_id"])
    op.create_table(
        "notice_opt_outs",
        sa.Column("customer_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_notice_opt_outs")),
    )


def downgrade() -> None:
    op.drop_table("notice_opt_outs")
    op.drop_index(op.f("ix_notices_account_id"), table_name="notices")
    op.drop_index(op.f("ix_notices_state_id"), table_name="notices")
    op.drop_table("notices")
    op.drop_table("notice_batches")
