"""The Telegram channel's storage functions: users, update ids, sent messages, buttons.

Synchronous SQLAlchemy, called from the channel through worker threads. An update id
is claimed in the transaction that stores what the update brought (here, or in
`relay_store.store_customer_message`), never on its own before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.relay_store import StoredMessage
from bot.security.clients import telegram_client_key
from bot.storage.accounts import claim_telegram_update, current_conversation, get_or_create_account
from bot.storage.conversations import (
    add_message,
    get_conversation,
    mark_delivery,
    undelivered_messages,
)
from bot.storage.staff_links import linked_member
from bot.storage.tables import Button, ChannelAccount, Message, TelegramUpdate


@dataclass(frozen=True)
class ChatTurn:
    conversation_id: str
    account_id: int


def conversation_for_user(
    session_factory: sessionmaker[Session], *, user_id: int, idle_after: timedelta
) -> ChatTurn:
    """Keyed by the Telegram user, not the chat, so that a verification links one person.

    Customers are served in private chats only, whose id is the user's: accounts made
    when they were keyed by chat are the same rows.
    """
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="telegram", external_id=str(user_id))
        current = current_conversation(
            session,
            account=account,
            idle_after=idle_after,
            client_key=telegram_client_key(user_id),
        )
        staff = linked_member(session, channel="telegram", external_id=account.external_id)
        if staff is not None and current.conversation.staff_id != staff.id:
            # A staff member's chat: no customer contact (the queue's figures skip it).
            current.conversation.staff_id = staff.id
        return ChatTurn(current.conversation.id, account.id)


def claim(session_factory: sessionmaker[Session], update_id: int) -> bool:
    """Only for an update that stores nothing (refused text, an expired button, over the limit)."""
    with session_factory.begin() as session:
        return claim_telegram_update(session, update_id=update_id)


def taken(session_factory: sessionmaker[Session], update_id: int) -> bool:
    """Whether the update was taken in: claimed, and what it brought stored with the claim."""
    with session_factory() as session:
        return session.get(TelegramUpdate, update_id) is not None


def chat_of(session_factory: sessionmaker[Session], conversation_id: str) -> int | None:
    """The private chat of the conversation's user: its id is the user's."""
    with session_factory() as session:
        conversation = get_conversation(session, conversation_id=conversation_id)
        if conversation is None or conversation.account_id is None:
            return None
        account = session.get(ChannelAccount, conversation.account_id)
        return int(account.external_id) if account is not None else None


def store_local_exchange(
    session_factory: sessionmaker[Session],
    *,
    update_id: int,
    conversation_id: str,
    customer_text: str,
    reply: str,
    buttons: list[Button] | None = None,
) -> StoredMessage | None:
    """For what the gateway answers itself (/start, /help, a sticker): both sides stored,
    with the update's claim; None when the update was taken in before."""
    with session_factory.begin() as session:
        if not claim_telegram_update(session, update_id=update_id):
            return None
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
