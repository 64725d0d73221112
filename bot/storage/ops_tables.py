"""Shopdesk's tables for the ops desk: incidents and their timelines, staff chats linked to
Telegram, and the append-only events the managers' figures are computed from.

They share `Base` with `bot.storage.tables`, which imports this module, so one metadata
(and one chain of migrations) covers every table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.tables import Base, UtcDateTime, utc_now

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class IncidentRecord(Base):
    """An incident the emergency group declared (bot/domain/incidents.py holds the rules).

    Customer delay answers, the surge rule and the console all read these rows, so a
    change reaches every one of them on the next turn.
    """

    __tablename__ = "incidents"
    __table_args__ = (sa.Index(None, "status"),)

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    title: Mapped[str] = mapped_column(sa.String(160))
    # 1 local fault .. 4 major disaster, as the emergency plans tier them.
    severity: Mapped[int] = mapped_column(sa.SmallInteger())
    # investigating -> identified -> monitoring -> resolved.
    status: Mapped[str] = mapped_column(sa.String(16))
    regions: Mapped[list[str]] = mapped_column(sa.JSON())
    carriers: Mapped[list[str]] = mapped_column(sa.JSON())
    # Only orders placed in this range, when set (a warehouse fault hits one night's orders).
    orders_from: Mapped[date | None] = mapped_column(sa.Date())
    orders_to: Mapped[date | None] = mapped_column(sa.Date())
    customer_note: Mapped[str] = mapped_column(sa.Text())
    internal_note: Mapped[str] = mapped_column(sa.Text(), default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expected_recovery: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    declared_by: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class IncidentUpdateRecord(Base):
    """One entry of an incident's timeline: who changed what, when. Never edited."""

    __tablename__ = "incident_updates"
    __table_args__ = (sa.Index(None, "incident_id", "at"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id", ondelete="SET NULL"))
    # The name as it was then ("Mei Lin", or "demo seed"): the timeline outlives accounts.
    author: Mapped[str] = mapped_column(sa.String(64))
    summary: Mapped[str] = mapped_column(sa.String(500))
    # Field name -> [before, after], as JSON-friendly strings; {} for the declaration.
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON())


class StaffLinkCode(Base):
    """A one-time code the console shows, which a staff member sends as `/link CODE`."""

    __tablename__ = "staff_link_codes"

    # Only the SHA-256 of the code, like session tokens.
    code_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agents.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class StaffChatLink(Base):
    """A staff member's own chat on a channel (a Telegram private chat): messages from it
    reach the engine with the member's current role."""

    __tablename__ = "staff_chat_links"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), unique=True
    )
    channel: Mapped[str] = mapped_column(sa.String(16))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class DeskEvent(Base):
    """What happened at the service desk, appended and never changed: the managers'
    figures are computed from these rows alone.

    Kinds: opened, bot_resolved, handed_off, agent_first_reply, resolved, abandoned,
    callback, survey_sent, rated, notice_sent, intent (a contact's first recognised
    topic); bot/domain/desk_events.py says what each one means.
    """

    __tablename__ = "desk_events"
    __table_args__ = (
        sa.Index(None, "kind", "at"),
        sa.Index(None, "conversation_id"),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    # No foreign keys: the record stays when a conversation or an account is deleted.
    conversation_id: Mapped[str | None] = mapped_column(sa.String(32))
    channel: Mapped[str | None] = mapped_column(sa.String(16))
    handoff_id: Mapped[int | None] = mapped_column(sa.Integer())
    agent_id: Mapped[int | None] = mapped_column(sa.Integer())
    incident_id: Mapped[int | None] = mapped_column(sa.Integer())
    intent: Mapped[str | None] = mapped_column(sa.String(64))
    # A rating's score, or a duration in seconds, as the kind says.
    value: Mapped[float | None] = mapped_column(sa.Float())
    # The customer's channel account (no foreign key either): links a notice to the same
    # customer's later contacts, for the deflection a notice bought.
    account_id: Mapped[int | None] = mapped_column(sa.BigInteger())


class NoticeBatch(Base):
    """One "notify affected customers" an ops person said yes to: one incident update."""

    __tablename__ = "notice_batches"

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"))
    # Declared, new estimate, new note or resolved: what the customers are told about.
    occasion: Mapped[str] = mapped_column(sa.String(24))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(sa.String(64))
    # Every notice row is written with the batch, before anything is sent.
    planned: Mapped[int] = mapped_column(sa.Integer())


class Notice(Base):
    """One customer's notice in the outbox: written before it is sent, marked once sent,
    so a restart resumes where it stopped and never sends one twice."""

    __tablename__ = "notices"
    __table_args__ = (
        # One notice per customer per incident update, however many orders they have.
        sa.UniqueConstraint("batch_id", "customer_id"),
        sa.Index(None, "state", "id"),
        # A web chat's unseen notices are looked up by account on every page opening.
        sa.Index(None, "account_id"),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("notice_batches.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(sa.Integer())
    account_id: Mapped[int] = mapped_column(
        _BIG_ID, sa.ForeignKey("channel_accounts.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(sa.String(16))
    order_numbers: Mapped[list[str]] = mapped_column(sa.JSON())
    text: Mapped[str] = mapped_column(sa.Text())
    # queued -> sending -> sent | failed; "skipped" when the customer opted out meanwhile.
    state: Mapped[str] = mapped_column(sa.String(16), default="queued")
    attempts: Mapped[int] = mapped_column(sa.SmallInteger(), default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(sa.String(64))
    # Which sender took it and when (bot/channels/notice_sender.py): a claim older than the
    # lease belongs to a gateway that died, and the notice is queued again.
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    # The notice as stored in the customer's conversation (its button, the transcript);
    # the Telegram message id is that message's external_id. No foreign key, as for desk
    # events: the outbox keeps its record whatever becomes of the transcript, and a
    # message that is gone is stored again by the next claim.
    message_id: Mapped[int | None] = mapped_column(_BIG_ID)


class NoticeOptOut(Base):
    """A customer who said "stop these messages": no more incident notices until they
    turn them back on (the row is deleted then)."""

    __tablename__ = "notice_opt_outs"

    customer_id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
