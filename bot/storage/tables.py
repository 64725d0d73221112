"""Shopdesk's own tables: conversations and every message in them.

The gateway writes here before it acts on a message, so these rows are the
record of what customers said and what they were told.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# "console": a staff member's Ops chat in the console (bot/storage/staff_chats.py).
Channel = Literal["api", "webchat", "telegram", "console"]
# "queued" and "agent": the bot is paused and customer messages go to the agents;
# "callback": the next customer message is the note for a call-back;
# "rating": the next customer message is their 1-5 rating of the agent.
ConversationState = Literal["bot", "queued", "agent", "callback", "rating", "closed"]
Direction = Literal["in", "out"]
Sender = Literal["customer", "bot", "agent", "system"]
# Inbound: "received" -> "processed", or "pending" while the engine is unreachable (the
# replayer answers it later). Outbound: "queued" when stored, before the channel has it;
# "delivered" once the channel confirmed it (HTTP response written, web page acknowledged,
# Telegram accepted it). "sending": an incident notice claimed by the notice sender, which
# marks it itself (the channel's re-send of "queued" messages must not send it too).
DeliveryState = Literal["received", "processed", "pending", "queued", "sending", "delivered"]


class Button(TypedDict):
    title: str
    payload: str


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Always hands back aware UTC datetimes.

    SQLite keeps no time zone and returns naive values, PostgreSQL returns the
    session's zone; comparing either with `datetime.now(UTC)` would then break.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Shopdesk stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


# Named constraints, so that Alembic's batch mode can rebuild SQLite tables later.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class ChannelAccount(Base):
    """Someone on a channel who comes back: a Telegram chat, a web chat browser session.

    It outlives conversations (which time out), so it carries the customer a Telegram
    account was linked to after a verification, and which conversation is current.
    """

    __tablename__ = "channel_accounts"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    channel: Mapped[str] = mapped_column(sa.String(16))
    # Telegram: the chat id; web chat: the session id inside the signed session token.
    external_id: Mapped[str] = mapped_column(sa.String(64))
    # The shop's customer id, set only from a verification the action server reported.
    customer_id: Mapped[int | None] = mapped_column(sa.Integer())
    linked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    current_conversation_id: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class Conversation(Base):
    __tablename__ = "conversations"
    # The surge rule counts contacts by when they began (bot/handoff/queue.py).
    __table_args__ = (sa.Index(None, "created_at"),)

    # Made by the gateway (uuid4 hex) and sent to Rasa as the sender id: never client-chosen.
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    # Only the SHA-256 of the bearer token: a leaked database must not let anyone talk as a
    # customer.
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    channel: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16), default="bot")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("channel_accounts.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The engine paused this conversation for a handoff and has not been told to resume yet.
    engine_paused: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    # "idle" for a timeout; later, agents' resolution codes.
    close_reason: Mapped[str | None] = mapped_column(sa.String(32))
    # Who started it, for per-client limits (bot/security/clients.py): "ip:…" or "tg:…".
    client_key: Mapped[str | None] = mapped_column(sa.String(64))
    # Set when a staff member talks to the bot here (the console's Ops chat, a linked
    # Telegram chat): not a customer contact, so the queue's figures and reports skip it.
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id", ondelete="SET NULL"))


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        sa.Index(None, "conversation_id", "created_at"),
        # A web page re-sends what was not acknowledged; the second copy must not be stored.
        sa.UniqueConstraint("conversation_id", "client_message_id"),
        sa.Index(None, "delivery_state"),
    )

    # A sequence rather than a uuid: it breaks ties between equal timestamps in transcripts.
    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    conversation_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    direction: Mapped[str] = mapped_column(sa.String(3))
    sender: Mapped[str] = mapped_column(sa.String(16))
    # None for a bot reply that carries only buttons; customer messages always have text.
    text: Mapped[str | None] = mapped_column(sa.Text())
    # none_as_null: "no buttons" is SQL NULL, not the JSON value null.
    buttons: Mapped[list[Button] | None] = mapped_column(sa.JSON(none_as_null=True))
    channel: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    delivery_state: Mapped[str] = mapped_column(sa.String(16))
    # The id the sending web page gave the message, for de-duplication.
    client_message_id: Mapped[str | None] = mapped_column(sa.String(64))
    # The channel's own id once delivered (a Telegram message id), for button callbacks.
    external_id: Mapped[str | None] = mapped_column(sa.String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class TelegramUpdate(Base):
    """Update ids already taken in: Telegram re-sends an update it thinks was missed."""

    __tablename__ = "telegram_updates"

    update_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class JobLease(Base):
    """Which gateway instance runs the jobs that must run once (the replayer of kept
    messages, the queue announcer, the idle closer): held while its holder renews it,
    taken over by another instance once it lapses (bot/storage/job_leases.py)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(96))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Agent(Base):
    """A member of the shop's staff: an agent who takes conversations in the console,
    or ops or a manager, who also do more (bot/domain/staff.py)."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(32), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    # Argon2id, with its parameters and salt inside the string.
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16), default="away")
    # How many conversations the agent handles at once.
    capacity: Mapped[int] = mapped_column(sa.Integer(), default=3)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    # "agent", "ops" or "manager" (bot/domain/staff.py).
    role: Mapped[str] = mapped_column(sa.String(16), default="agent")
    # A disabled account signs in no more and its sessions are gone; kept for the record
    # (notes, handoffs and ratings name it).
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AgentSession(Base):
    __tablename__ = "agent_sessions"

    # SHA-256 of the cookie's token, as for conversation tokens.
    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agents.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Handoff(Base):
    """One conversation's time in the human queue, from the request to its end."""

    __tablename__ = "handoffs"
    __table_args__ = (sa.Index(None, "state", "enqueued_at"),)

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    reason: Mapped[str] = mapped_column(sa.String(32))
    reason_detail: Mapped[str] = mapped_column(sa.String(200))
    # What the bot knew: verified orders and customer, intents, slots.
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    verified: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    affected_by_incident: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    order_value: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    # waiting -> assigned -> returned | closed; or waiting -> left | callback.
    state: Mapped[str] = mapped_column(sa.String(16), default="waiting")
    enqueued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution: Mapped[str | None] = mapped_column(sa.String(32))
    # The model's estimate when the customer was queued (unrounded; they heard it rounded
    # up), to measure how honest the announced waits are. None: no estimate was possible.
    announced_wait_minutes: Mapped[float | None] = mapped_column(sa.Float())
    last_announced_position: Mapped[int | None] = mapped_column(sa.Integer())
    last_announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AgentNote(Base):
    """Internal notes on a handoff; never shown to the customer."""

    __tablename__ = "agent_notes"

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(sa.ForeignKey("handoffs.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agents.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class CallbackRequest(Base):
    """A message a customer left instead of waiting: a ticket agents call back on."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    handoff_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("handoffs.id", ondelete="SET NULL")
    )
    message: Mapped[str] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Rating(Base):
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    handoff_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("handoffs.id", ondelete="SET NULL")
    )
    score: Mapped[int] = mapped_column(sa.SmallInteger())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class ProofAttempt(Base):
    """One check of an ownership proof, kept so that failures count across conversations
    and channels, per order and per client (bot/domain/proof_limits.py)."""

    __tablename__ = "proof_attempts"
    __table_args__ = (
        sa.Index(None, "order_number", "created_at"),
        sa.Index(None, "client_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    # The number as the customer gave it, whether or not such an order exists.
    order_number: Mapped[str] = mapped_column(sa.String(16))
    client_key: Mapped[str] = mapped_column(sa.String(64))
    succeeded: Mapped[bool] = mapped_column(sa.Boolean())
    conversation_id: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


# The ops desk's tables share this metadata (and the chain of migrations).
from bot.storage import ops_tables as _ops_tables  # noqa: E402, F401
