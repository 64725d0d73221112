"""The Telegram channel's storage functions: chats, update ids, sent messages, buttons.

Synchronous SQLAlchemy, called from the channel through worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.relay_store import StoredMessage
from bot.storage.accounts import claim_telegram_update, current_conversation, get_or_create_account
from bot.storage.conversations import (
    add_message,
    get_conversation,
    mark_delivery,
    undelivered_messages,
)
from bot.storage.tables import Button, ChannelAccount, Message


@dataclass(frozen=True)
class ChatTurn:
    conversation_id: str
    account_id: int


def conversation_for_chat(
    session_factory: sessionmaker[Session], *, chat_id: int, idle_after: timedelta
) -> ChatTurn:
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="telegram", external_id=str(chat_id))
        current = current_conversation(session, account=account, idle_after=idle_after)
        return ChatTurn(current.conversation.id, account.id)


def claim(session_factory: sessionmaker[Session], update_id: int) -> bool:
    with session_factory.begin() as session:
        return claim_telegram_update(session, update_id=update_id)


def chat_of(session_factory: sessionmaker[Session], conversation_id: str) -> int | None:
    with session_factory() as session:
        conversation = get_conversation(session, conversation_id=conversation_id)
        if conversation is None or conversation.account_id is None:
            return None
        account = session.get(ChannelAccount, conversation.account_id)
        return int(account.external_id) if account is not None else None


def store_local_exchange(
    session_factory: sessionmaker[Session],
    *,
    conversation_id: str,
    customer_text: str,
    reply: str,
    buttons: list[Button] | None = None,
) -> StoredMessage:
    """For what the gateway answers itself (/start, /help, a sticker): both sides stored."""
    with session_factory.begin() as session:
        add_message(
            session,
            conversation_id=conversation_id,
            direction="in",
            sender="customer",
            text=customer_text,
            channel="telegram",
            delivery_state="processed",
        )
        stored = add_message(
            session,
            conversation_id=conversation_id,
            direction="out",
            sender="bot",
            text=reply,
            buttons=buttons,
            channel="telegram",
            delivery_state="queued",
        )
        return StoredMessage.from_row(stored)


def button_payload(
    session_factory: sessionmaker[Session], *, data: str, conversation_id: str
) -> str | None:
    """The payload behind a pressed button, only if it is on a message of this conversation."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "b" or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    with session_factory() as session:
        message = session.get(Message, int(parts[1]))
        if message is None or message.conversation_id != conversation_id or not message.buttons:
            return None
        index = int(parts[2])
        return message.buttons[index]["payload"] if index < len(message.buttons) else None


def mark_sent(session_factory: sessionmaker[Session], *, message_id: int, external_id: str) -> None:
    with session_factory.begin() as session:
        mark_delivery(
            session, message_id=message_id, delivery_state="delivered", external_id=external_id
        )


def undelivered(session_factory: sessionmaker[Session]) -> list[StoredMessage]:
    with session_factory() as session:
        return [
            StoredMessage.from_row(m) for m in undelivered_messages(session, channel="telegram")
        ]


def still_queued(session_factory: sessionmaker[Session], message_id: int) -> bool:
    with session_factory() as session:
        message = session.get(Message, message_id)
        return message is not None and message.delivery_state == "queued"
