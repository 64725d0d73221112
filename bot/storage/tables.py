"""Shopdesk's own tables: conversations and every message in them.

The gateway writes here before it acts on a message, so these rows are the
record of what customers said and what they were told.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Channel = Literal["api", "webchat", "telegram"]
ConversationState = Literal["bot", "queued", "agent", "closed"]
Direction = Literal["in", "out"]
Sender = Literal["customer", "bot", "system"]
# Inbound: "received" -> "processed", or "pending" when the engine was unreachable.
# Outbound: "sent".
DeliveryState = Literal["received", "processed", "pending", "sent"]


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


class Conversation(Base):
    __tablename__ = "conversations"

    # Made by the gateway (uuid4 hex) and sent to Rasa as the sender id: never client-chosen.
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    # Only the SHA-256 of the bearer token: a leaked database must not let anyone talk as a
    # customer.
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    channel: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16), default="bot")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (sa.Index(None, "conversation_id", "created_at"),)

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
