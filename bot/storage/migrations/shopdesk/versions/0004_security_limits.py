"""security limits: proof attempts across conversations, the client of a conversation,
and an index for counting contacts cheaply

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("client_key", sa.String(64), nullable=True))
    op.create_index(op.f("ix_conversations_created_at"), "conversations", ["created_at"])
    op.create_table(
        "proof_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("order_number", sa.String(16), nullable=False),
        sa.Column("client_key", sa.String(64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proof_attempts")),
    )
    op.create_index(
        op.f("ix_proof_attempts_order_number_created_at"),
        "proof_attempts",
        ["order_number", "created_at"],
    )
    op.create_index(
        op.f("ix_proof_attempts_client_key_created_at"),
        "proof_attempts",
        ["client_key", "created_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_proof_attempts_client_key_created_at"), table_name="proof_attempts")
    op.drop_index(op.f("ix_proof_attempts_order_number_created_at"), table_name="proof_attempts")
    op.drop_table("proof_attempts")
    op.drop_index(op.f("ix_conversations_created_at"), table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("client_key")
