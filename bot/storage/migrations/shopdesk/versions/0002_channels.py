"""channel accounts, message de-duplication and delivery, Telegram update ids

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channel_accounts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_conversation_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_accounts")),
        sa.UniqueConstraint(
            "channel", "external_id", name=op.f("uq_channel_accounts_channel_external_id")
        ),
    )
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_updates")),
    )
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("account_id", _ID, nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("close_reason", sa.String(32), nullable=True))
        batch.create_foreign_key(
            op.f("fk_conversations_account_id_channel_accounts"),
            "channel_accounts",
            ["account_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("client_message_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("external_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_messages_conversation_id_client_message_id"),
            ["conversation_id", "client_message_id"],
        )
        batch.create_index(op.f("ix_messages_delivery_state"), ["delivery_state"])
    # Before this revision outbound messages were "sent" once returned over HTTP.
    op.execute("UPDATE messages SET delivery_state = 'delivered' WHERE delivery_state = 'sent'")


def downgrade() -> None:
    op.execute("UPDATE messages SET delivery_state = 'sent' WHERE direction = 'out'")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index(op.f("ix_messages_delivery_state"))
        batch.drop_constraint(op.f("uq_messages_conversation_id_client_message_id"), type_="unique")
        batch.drop_column("delivered_at")
        batch.drop_column("external_id")
        batch.drop_column("client_message_id")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint(
            op.f("fk_conversations_account_id_channel_accounts"), type_="foreignkey"
        )
        batch.drop_column("close_reason")
        batch.drop_column("closed_at")
        batch.drop_column("account_id")
    op.drop_table("telegram_updates")
    op.drop_table("channel_accounts")
