"""human handoff: agents, sessions, the queue, notes, call-backs, ratings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def _conversation_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["conversation_id"],
        ["conversations.id"],
        name=op.f(f"fk_{table}_conversation_id_conversations"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(
            sa.Column("engine_paused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("username", name=op.f("uq_agents_username")),
    )
    op.create_table(
        "agent_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_sessions_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_agent_sessions")),
    )  # fmt: skip
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("reason_detail", sa.String(200), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("affected_by_incident", sa.Boolean(), nullable=False),
        sa.Column("order_value", sa.Numeric(12, 2), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("enqueued_at", _TIME, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", _TIME, nullable=True),
        sa.Column("ended_at", _TIME, nullable=True),
        sa.Column("resolution", sa.String(32), nullable=True),
        sa.Column("announced_wait_minutes", sa.Float(), nullable=True),
        sa.Column("last_announced_position", sa.Integer(), nullable=True),
        sa.Column("last_announced_at", _TIME, nullable=True),
        _conversation_fk("handoffs"),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_handoffs_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )  # fmt: skip
    op.create_index(op.f("ix_handoffs_state_enqueued_at"), "handoffs", ["state", "enqueued_at"])
    op.create_table(
        "agent_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoffs.id"], name=op.f("fk_agent_notes_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_notes_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_notes")),
    )  # fmt: skip
    for table, extra in (
        ("callback_requests", [sa.Column("message", sa.Text(), nullable=False),
                               sa.Column("done_at", _TIME, nullable=True)]),
        ("ratings", [sa.Column("score", sa.SmallInteger(), nullable=False)]),
    ):  # fmt: skip
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("conversation_id", sa.String(32), nullable=False),
            sa.Column("handoff_id", sa.Integer(), nullable=True),
            *extra,
            sa.Column("created_at", _TIME, nullable=False),
            _conversation_fk(table),
            sa.ForeignKeyConstraint(
                ["handoff_id"], ["handoffs.id"], name=op.f(f"fk_{table}_handoff_id_handoffs"),
                ondelete="SET NULL",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        )  # fmt: skip


def downgrade() -> None:
    for table in ("ratings", "callback_requests", "agent_notes"):
        op.drop_table(table)
    op.drop_index(op.f("ix_handoffs_state_enqueued_at"), table_name="handoffs")
    for table in ("handoffs", "agent_sessions", "agents"):
        op.drop_table(table)
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("engine_paused")
