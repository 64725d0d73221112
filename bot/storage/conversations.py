"""Storage functions for conversations and their messages.

They flush but never commit: the caller decides the transaction, because the
relay must commit an inbound message on its own before it calls the engine.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.storage.desk_events import note_message, record_conversation_closed
from bot.storage.tables import (
    Button,
    Channel,
    Conversation,
    DeliveryState,
    Direction,
    Message,
    Sender,
    utc_now,
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_conversation(
    session: Session,
    *,
    channel: Channel,
    account_id: int | None = None,
    client_key: str | None = None,
) -> tuple[Conversation, str]:
    """Returns the bearer token this once; only its hash is stored.

    Conversations of a channel account (web chat, Telegram) are reached through the
    account, so their token is simply never handed out.
    """
    token = secrets.token_urlsafe(32)
    now = utc_now()
    conversation = Conversation(
        id=uuid.uuid4().hex,
        token_hash=hash_token(token),
        channel=channel,
        state="bot",
        created_at=now,
        last_activity_at=now,
        account_id=account_id,
        client_key=client_key,
    )
    session.add(conversation)
    session.flush()
    return conversation, token


def get_conversation(session: Session, *, conversation_id: str) -> Conversation | None:
    return session.get(Conversation, conversation_id)


def token_matches(conversation: Conversation, *, token: str) -> bool:
    """Constant-time comparison, so response timing does not reveal the stored hash."""
    return hmac.compare_digest(hash_token(token), conversation.token_hash)


def add_message(
    session: Session,
    *,
    conversation_id: str,
    direction: Direction,
    sender: Sender,
    text: str | None,
    buttons: list[Button] | None = None,
    channel: Channel,
    delivery_state: DeliveryState,
    client_message_id: str | None = None,
) -> Message:
    """Also moves the conversation's last activity, which handoff and the idle timeout
    rely on."""
    now = utc_now()
    message = Message(
        conversation_id=conversation_id,
        direction=direction,
        sender=sender,
        text=text,
        buttons=buttons or None,
        channel=channel,
        created_at=now,
        delivery_state=delivery_state,
        client_message_id=client_message_id,
    )
    session.add(message)
    session.execute(
        sa.update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_activity_at=now)
    )
    session.flush()
    note_message(session, conversation_id=conversation_id, sender=sender, at=now)
    return message


def mark_delivery(
    session: Session,
    *,
    message_id: int,
    delivery_state: DeliveryState,
    external_id: str | None = None,
) -> None:
    """One UPDATE, without reading the message first (a step of every turn)."""
    values: dict[str, object] = {"delivery_state": delivery_state}
    if delivery_state == "delivered":
        values.update(delivered_at=utc_now(), external_id=external_id)
    result = session.execute(sa.update(Message).where(Message.id == message_id).values(**values))
    if not getattr(result, "rowcount", 0):
        raise LookupError(f"no message with id {message_id}")


def mark_delivered(session: Session, *, message_ids: list[int]) -> None:
    """`mark_delivery(..., "delivered")` for several messages in one statement."""
    if not message_ids:
        return
    session.execute(
        sa.update(Message)
        .where(Message.id.in_(message_ids))
        .values(delivery_state="delivered", delivered_at=utc_now(), external_id=None)
    )


def mark_delivered_up_to(session: Session, *, conversation_id: str, up_to: int) -> int:
    """A web page reports the highest id it has shown; returns how many rows changed."""
    result = session.execute(
        sa.update(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "out",
            Message.delivery_state == "queued",
            Message.id <= up_to,
        )
        .values(delivery_state="delivered", delivered_at=utc_now())
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def find_client_message(
    session: Session, *, conversation_id: str, client_message_id: str
) -> Message | None:
    return session.scalars(
        sa.select(Message).where(
            Message.conversation_id == conversation_id,
            Message.client_message_id == client_message_id,
        )
    ).first()


def list_messages(session: Session, *, conversation_id: str, after_id: int = 0) -> list[Message]:
    """Oldest first; the id breaks ties between messages stored in the same microsecond."""
    statement = (
        sa.select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after_id)
        .order_by(Message.created_at, Message.id)
    )
    return list(session.scalars(statement))


def unanswered_messages(session: Session, *, conversation_id: str) -> list[Message]:
    """Customer messages the engine has not answered yet, in the order they came."""
    statement = (
        sa.select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "in",
            Message.delivery_state.in_(("received", "pending")),
        )
        .order_by(Message.id)
    )
    return list(session.scalars(statement))


def conversations_with_unanswered(
    session: Session, *, received_before: datetime
) -> list[tuple[str, Channel]]:
    """Conversations whose customer waits for an answer: messages kept while the engine was
    down, and messages a crashed gateway took in but never answered (older than
    `received_before`, so that turns in progress are left to their own request)."""
    statement = (
        sa.select(Message.conversation_id, Message.channel, sa.func.min(Message.id).label("first"))
        .where(
            Message.direction == "in",
            sa.or_(
                Message.delivery_state == "pending",
                sa.and_(Message.delivery_state == "received", Message.created_at < received_before),
            ),
        )
        .group_by(Message.conversation_id, Message.channel)
        .order_by("first")
    )
    return [(row.conversation_id, cast(Channel, row.channel)) for row in session.execute(statement)]


def undelivered_messages(session: Session, *, channel: Channel, limit: int = 100) -> list[Message]:
    """Outbound messages a pushing channel (Telegram) has not managed to deliver yet."""
    statement = (
        sa.select(Message)
        .where(
            Message.channel == channel,
            Message.direction == "out",
            Message.delivery_state == "queued",
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def lock_conversation(session: Session, *, conversation_id: str) -> Conversation:
    """The conversation, freshly read and locked until the caller's transaction ends.

    Whoever changes where a conversation's messages go (the customer side routing a
    message, an agent taking, handing back or closing) locks the row first and decides by
    the state read under the lock, so the two serialise instead of acting on a stale read.
    PostgreSQL locks the row with SELECT ... FOR UPDATE. SQLite has no row locks, and
    pysqlite runs SELECTs outside any transaction until the first write, so a no-op UPDATE
    takes the database's write lock first and the SELECT after it sees the latest commit.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            sa.update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(state=Conversation.state)
            .execution_options(synchronize_session=False)
        )
    conversation = session.scalars(
        sa.select(Conversation)
        .where(Conversation.id == conversation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if conversation is None:
        raise LookupError(f"no conversation {conversation_id}")
    return conversation


def has_unanswered(session: Session, *, conversation_id: str) -> bool:
    """Whether a customer message of the conversation still waits for the bot's answer."""
    statement = sa.select(
        sa.exists().where(
            Message.conversation_id == conversation_id,
            Message.direction == "in",
            Message.delivery_state.in_(("received", "pending")),
        )
    )
    return bool(session.scalar(statement))


def close_idle(session: Session, conversation: Conversation, *, at: datetime) -> None:
    """The one way a conversation ends, so the desk's figures hear of every ending."""
    conversation.closed_at = at
    conversation.close_reason = "idle"
    record_conversation_closed(session, conversation, at=at)


def close_if_idle(
    session: Session, conversation: Conversation, *, idle_after: timedelta, now: datetime
) -> bool:
    """Closes an open conversation that went idle (`went_idle`); True if it did."""
    if conversation.closed_at is not None or not went_idle(
        session, conversation, idle_after=idle_after, now=now
    ):
        return False
    close_idle(session, conversation, at=now)
    return True


def went_idle(
    session: Session, conversation: Conversation, *, idle_after: timedelta, now: datetime
) -> bool:
    """Whether an open conversation has timed out, for every channel alike.

    Waiting for or talking with a person is not idleness: the wait is ours. Nor is a
    customer message we still owe an answer (kept while the engine was down): its reply
    is stored in this conversation when the replayer gets to it, and a new conversation
    would hide that reply from the customer.
    """
    if conversation.state in ("queued", "agent"):
        return False
    if now - conversation.last_activity_at < idle_after:
        return False
    return not has_unanswered(session, conversation_id=conversation.id)
