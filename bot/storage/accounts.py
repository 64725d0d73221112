"""Storage functions for channel accounts: who comes back, and their current conversation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.conversations import close_if_idle, create_conversation
from bot.storage.tables import Channel, ChannelAccount, Conversation, TelegramUpdate, utc_now


@dataclass(frozen=True)
class CurrentConversation:
    conversation: Conversation
    # True when this call opened it: first contact, or the previous one went idle.
    started: bool
    previous_id: str | None


def get_or_create_account(
    session: Session, *, channel: Channel, external_id: str
) -> ChannelAccount:
    """Safe against two first messages of one account racing: the loser reads the winner's row."""
    statement = sa.select(ChannelAccount).where(
        ChannelAccount.channel == channel, ChannelAccount.external_id == external_id
    )
    account = session.scalars(statement).first()
    if account is not None:
        return account
    try:
        with session.begin_nested():
            account = ChannelAccount(channel=channel, external_id=external_id, created_at=utc_now())
            session.add(account)
    except IntegrityError:
        account = session.scalars(statement).one()
    return account


def current_conversation(
    session: Session,
    *,
    account: ChannelAccount,
    idle_after: timedelta,
    now: datetime | None = None,
    client_key: str | None = None,
) -> CurrentConversation:
    """The account's open conversation, or a new one when there is none or it went idle.

    A timed-out conversation is closed here, when the customer comes back, so a new
    conversation starts with a clean engine tracker (a new conversation id). A new one
    is recorded as started by `client_key`, for the per-client limits.
    """
    moment = now or utc_now()
    previous: Conversation | None = None
    if account.current_conversation_id is not None:
        previous = session.get(Conversation, account.current_conversation_id)
    if (
        previous is not None
        and previous.closed_at is None
        and not close_if_idle(session, previous, idle_after=idle_after, now=moment)
    ):
        return CurrentConversation(previous, started=False, previous_id=None)
    conversation, _ = create_conversation(
        session,
        channel=cast(Channel, account.channel),
        account_id=account.id,
        client_key=client_key,
    )
    account.current_conversation_id = conversation.id
    session.flush()
    return CurrentConversation(
        conversation, started=True, previous_id=previous.id if previous is not None else None
    )


def link_customer(session: Session, *, account_id: int, customer_id: int) -> None:
    """Called only for a verification the action server reported, never from customer input."""
    account = session.get(ChannelAccount, account_id)
    if account is None:
        raise LookupError(f"no channel account {account_id}")
    account.customer_id = customer_id
    account.linked_at = utc_now()
    session.flush()


def get_account(session: Session, *, account_id: int) -> ChannelAccount | None:
    return session.get(ChannelAccount, account_id)


def claim_telegram_update(session: Session, *, update_id: int) -> bool:
    """True the first time an update id is seen; False for Telegram's re-sends.

    Called in the transaction that stores what the update brought, so an update whose
    message could not be stored is not counted as seen (Telegram sends it again). No
    savepoint: in SQLite one that opens the transaction commits when released, which
    would count the update as seen however the rest of the transaction ends. A claim
    racing another of the same id waits for that transaction: taken if it commits.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(TelegramUpdate)
        .values(update_id=update_id, received_at=utc_now())
        .on_conflict_do_nothing(index_elements=[TelegramUpdate.update_id])
        .returning(TelegramUpdate.update_id)  # a row only if inserted (row counts vary by driver)
    )
    return session.execute(statement).first() is not None
