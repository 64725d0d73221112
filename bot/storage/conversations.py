"""Storage functions for conversations and their messages.

They flush but never commit: the caller decides the transaction, because the
relay must commit an inbound message on its own before it calls the engine.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

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


def create_conversation(session: Session, *, channel: Channel) -> tuple[Conversation, str]:
    """Returns the bearer token this once; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    conversation = Conversation(
        id=uuid.uuid4().hex,
        token_hash=hash_token(token),
        channel=channel,
        state="bot",
        created_at=now,
        last_activity_at=now,
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
) -> Message:
    """Also moves the conversation's last activity, which handoff and clean-up rely on."""
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
    )
    session.add(message)
    session.execute(
        sa.update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_activity_at=now)
    )
    session.flush()
    return message


def mark_delivery(session: Session, *, message_id: int, delivery_state: DeliveryState) -> None:
    message = session.get(Message, message_id)
    if message is None:
        raise LookupError(f"no message with id {message_id}")
    message.delivery_state = delivery_state
    session.flush()


def list_messages(session: Session, *, conversation_id: str) -> list[Message]:
    """Oldest first; the id breaks ties between messages stored in the same microsecond."""
    statement = (
        sa.select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.created_at, Message.id)
    )
    return list(session.scalars(statement))
