"""the ops desk: incidents and their timelines, staff chats linked to Telegram, one-time
link codes, desk events for the managers' figures, and staff conversations marked

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("staff_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_conversations_staff_id_agents"),
            "agents",
            ["staff_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("title", sa.String(160), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("carriers", sa.JSON(), nullable=False),
        sa.Column("orders_from", sa.Date(), nullable=True),
        sa.Column("orders_to", sa.Date(), nullable=True),
        sa.Column("customer_note", sa.Text(), nullable=False),
        sa.Column("internal_note", sa.Text(), nullable=False),
        sa.Column("started_at", _AT, nullable=False),
        sa.Column("expected_recovery", _AT, nullable=True),
        sa.Column("resolved_at", _AT, nullable=True),
        sa.Column("declared_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["declared_by"],
            ["agents.id"],
            name=op.f("fk_incidents_declared_by_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(op.f("ix_incidents_status"), "incidents", ["status"])
    op.create_table(
        "incident_updates",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_updates_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_incident_updates_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_updates")),
    )
    op.create_index(
        op.f("ix_incident_updates_incident_id_at"), "incident_updates", ["incident_id", "at"]
    )
    op.create_table(
        "staff_link_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.Column("used_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_staff_link_codes_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_staff_link_codes")),
    )
    op.create_table(
        "staff_chat_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("linked_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_staff_chat_links_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_chat_links")),
        sa.UniqueConstraint("agent_id", name=op.f("uq_staff_chat_links_agent_id")),
        sa.UniqueConstraint(
            "channel", "external_id", name=op.f("uq_staff_chat_links_channel_external_id")
        ),
    )
    op.create_table(
        "desk_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_events")),
    )
    op.create_index(op.f("ix_desk_events_kind_at"), "desk_events", ["kind", "at"])
    op.create_index(op.f("ix_desk_events_conversation_id"), "desk_events", ["conversation_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_desk_events_conversation_id"), table_name="desk_events")
    op.drop_index(op.f("ix_desk_events_kind_at"), table_name="desk_events")
    op.drop_table("desk_events")
    op.drop_table("staff_chat_links")
    op.drop_table("staff_link_codes")
    op.drop_index(op.f("ix_incident_updates_incident_id_at"), table_name="incident_updates")
    op.drop_table("incident_updates")
    op.drop_index(op.f("ix_incidents_status"), table_name="incidents")
    op.drop_table("incidents")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint("fk_conversations_staff_id_agents", type_="foreignkey")
        batch.drop_column("staff_id")
