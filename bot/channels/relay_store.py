"""What the relay reads and writes: one short transaction per step of a turn.

Kept apart from ``relay.py``, which decides the order of the steps (and holds the
conversation's lock); every function here is synchronous SQLAlchemy on an explicit
session factory, for the relay to run in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.engine import REPORT_INTENT, EngineTurn
from bot.storage.accounts import claim_telegram_update, get_account, link_customer
from bot.storage.conversations import (
    add_message,
    close_if_idle,
    find_client_message,
    get_conversation,
    lock_conversation,
    mark_delivery,
    unanswered_messages,
)
from bot.storage.desk_events import record_topic, wants_topic
from bot.storage.staff_chats import offered_payloads
from bot.storage.staff_links import staff_for_conversation
from bot.storage.tables import Button, Channel, Conversation, Handoff, Message, utc_now

# Channels whose accounts are one person over time, so a verification may be remembered.
# A web chat session can be a shared computer: it proves orders again in each conversation.
LINKING_CHANNELS = frozenset({"telegram"})
# A verification also links a web chat session, for incident notices only: the engine
# hears of it as `notice_customer_id`, never as a customer who may skip a proof.
NOTICE_CHANNELS = LINKING_CHANNELS | {"webchat"}


@dataclass(frozen=True)
class StoredMessage:
    """A message as channels deliver it: with the id that acknowledgements refer to."""

    id: int
    conversation_id: str
    sender: str
    text: str | None
    buttons: list[Button]
    created_at: datetime
    client_message_id: str | None = None

    @classmethod
    def from_row(cls, message: Message) -> StoredMessage:
        return cls(
            id=message.id,
            conversation_id=message.conversation_id,
            sender=message.sender,
            text=message.text,
            buttons=list(message.buttons or []),
            created_at=message.created_at,
            client_message_id=message.client_message_id,
        )


@dataclass(frozen=True)
class Route:
    state: str
    engine_paused: bool
    outcome: str


def read_route(session_factory: sessionmaker[Session], *, conversation_id: str) -> Route:
    with session_factory() as session:
        return _route(session, conversation_id)


def _conversation(session: Session, conversation_id: str) -> Conversation:
    conversation = get_conversation(session, conversation_id=conversation_id)
    if conversation is None:
        raise LookupError(f"no conversation {conversation_id}")
    return conversation


def _route(session: Session, conversation_id: str) -> Route:
    conversation = _conversation(session, conversation_id)
    last = session.scalars(
        sa.select(Handoff)
        .where(Handoff.conversation_id == conversation_id)
        .order_by(Handoff.id.desc())
    ).first()
    outcome = "" if last is None else f"{last.state} {last.resolution or ''}".strip()
    return Route(conversation.state, conversation.engine_paused, outcome)


def mark_resumed(session_factory: sessionmaker[Session], *, conversation_id: str) -> None:
    with session_factory.begin() as session:
        conversation = get_conversation(session, conversation_id=conversation_id)
        if conversation is not None:
            conversation.engine_paused = False


@dataclass(frozen=True)
class Accepted:
    message: StoredMessage
    # True when the same client message id was stored before: acknowledge, do not answer.
    duplicate: bool


@dataclass(frozen=True)
class Pending:
    """One unanswered customer message and what the engine is told about its sender."""

    message_id: int
    text: str
    metadata: dict[str, object]
    was_kept: bool  # already answered with the apology once
    account_id: int | None
    # A staff message that is the payload of a button the bot offered in this conversation
    # (pressed, or typed alike) goes to the engine as it is, "/intent" too; any other text
    # starting with "/", and every customer's, stays text (relay.text_for_engine).
    pressed_button: bool = False


class UpdateAlreadyTaken(Exception):
    """The Telegram update was stored before: a re-send, to be left alone."""


def store_customer_message(
    session_factory: sessionmaker[Session],
    *,
    conversation_id: str,
    channel: Channel,
    text: str,
    client_message_id: str | None,
    telegram_update_id: int | None = None,
) -> Accepted:
    """A Telegram update id is claimed in the same transaction as its message: if storing
    fails, the id stays free for Telegram's re-send (raises UpdateAlreadyTaken if taken)."""
    with session_factory.begin() as session:
        if telegram_update_id is not None and not claim_telegram_update(
            session, update_id=telegram_update_id
        ):
            raise UpdateAlreadyTaken(telegram_update_id)
        if client_message_id is not None:
            earlier = find_client_message(
                session, conversation_id=conversation_id, client_message_id=client_message_id
            )
            if earlier is not None:
                return Accepted(StoredMessage.from_row(earlier), duplicate=True)
        message = _add_customer_message(
            session,
            conversation_id=conversation_id,
            channel=channel,
            text=text,
            client_message_id=client_message_id,
        )
        return Accepted(StoredMessage.from_row(message), duplicate=False)


def _add_customer_message(
    session: Session,
    *,
    conversation_id: str,
    channel: Channel,
    text: str,
    client_message_id: str | None = None,
) -> Message:
    return add_message(
        session,
        conversation_id=conversation_id,
        direction="in",
        sender="customer",
        text=text,
        channel=channel,
        delivery_state="received",
        client_message_id=client_message_id,
    )


def store_and_load_turn(
    session_factory: sessionmaker[Session],
    *,
    conversation_id: str,
    channel: Channel,
    text: str,
    idle_after: timedelta | None = None,
) -> tuple[Channel, list[Pending], Route] | None:
    """For a request that waits for its own answer: stores the customer's text and reads
    its turn (as `load_turn` up to it) in one transaction, committed before the engine
    is asked. With `idle_after`, None (and nothing stored) when the conversation is
    closed, or went idle and is closed now."""
    with session_factory.begin() as session:
        # Held for the whole transaction: the session keeps its objects by weak reference,
        # and the steps below each look the conversation up (one SELECT instead of three).
        # Locked when the idle timeout is checked, as the idle closer checks it.
        conversation = (
            _conversation(session, conversation_id)
            if idle_after is None
            else lock_conversation(session, conversation_id=conversation_id)
        )
        if idle_after is not None and (
            conversation.closed_at is not None
            or close_if_idle(session, conversation, idle_after=idle_after, now=utc_now())
        ):
            return None
        message = _add_customer_message(
            session, conversation_id=conversation_id, channel=channel, text=text
        )
        stored_channel, pending = _unanswered(session, conversation_id, message.id)
        return stored_channel, pending, _route(session, conversation_id)


def load_turn(
    session_factory: sessionmaker[Session], *, conversation_id: str, up_to: int | None
) -> tuple[Channel, list[Pending], Route]:
    """The conversation's unanswered messages (up to the message id `up_to`) with what the
    engine is told about their sender, and the route for the first, in one read."""
    with session_factory() as session:
        channel, pending = _unanswered(session, conversation_id, up_to)
        return channel, pending, _route(session, conversation_id)


def _unanswered(
    session: Session, conversation_id: str, up_to: int | None
) -> tuple[Channel, list[Pending]]:
    conversation = _conversation(session, conversation_id)
    channel = cast(Channel, conversation.channel)
    metadata: dict[str, object] = {
        "channel": channel,
        "conversation_id": conversation_id,
        "role": "customer",
    }
    if conversation.client_key is not None:
        # Failed proofs are counted per client too (actions/order_status.py).
        metadata["client"] = conversation.client_key
    staff = staff_for_conversation(session, conversation=conversation)
    if staff is not None:
        # The role as the agents row says now, never as a message says.
        metadata.update(staff.metadata())
    elif conversation.account_id is not None and channel in NOTICE_CHANNELS:
        account = get_account(session, account_id=conversation.account_id)
        if account is not None and account.customer_id is not None:
            metadata["notice_customer_id"] = account.customer_id
            if channel in LINKING_CHANNELS:
                metadata["linked_customer_id"] = account.customer_id
    if wants_topic(session, conversation_id=conversation_id):
        metadata[REPORT_INTENT] = True  # for the desk's contacts by intent
    pending = [
        Pending(
            message_id=message.id,
            text=message.text or "",
            metadata=metadata,
            was_kept=message.delivery_state == "pending",
            account_id=conversation.account_id,
            pressed_button=staff is not None and _offered_payload(session, message),
        )
        for message in unanswered_messages(session, conversation_id=conversation_id)
        if up_to is None or message.id <= up_to
    ]
    return channel, pending


def _offered_payload(session: Session, message: Message) -> bool:
    offered = offered_payloads(
        session, conversation_id=message.conversation_id, before_id=message.id
    )
    return (message.text or "") in offered


def store_turn(
    session_factory: sessionmaker[Session],
    *,
    conversation_id: str,
    channel: Channel,
    pending: Pending,
    turn: EngineTurn,
) -> list[StoredMessage]:
    """One transaction: the inbound is "processed" exactly when its replies are stored."""
    with session_factory.begin() as session:
        stored = [
            add_message(
                session,
                conversation_id=conversation_id,
                direction="out",
                sender="bot",
                text=reply.text,
                buttons=reply.buttons,
                channel=channel,
                delivery_state="queued",
            )
            for reply in turn.replies
        ]
        mark_delivery(session, message_id=pending.message_id, delivery_state="processed")
        record_topic(session, conversation_id=conversation_id, intent=turn.intent)
        if (
            turn.verified_customers
            and pending.account_id is not None
            and channel in NOTICE_CHANNELS
        ):
            link_customer(
                session,
                account_id=pending.account_id,
                customer_id=turn.verified_customers[-1].customer_id,
            )
        return [StoredMessage.from_row(message) for message in stored]


def keep_for_later(
    session_factory: sessionmaker[Session],
    *,
    conversation_id: str,
    channel: Channel,
    pending: list[Pending],
    apology: str,
) -> list[StoredMessage]:
    """Marks the messages "pending" for the replayer; apologises once for the newly kept."""
    newly_kept = [item for item in pending if not item.was_kept]
    if not newly_kept:
        return []
    with session_factory.begin() as session:
        for item in newly_kept:
            mark_delivery(session, message_id=item.message_id, delivery_state="pending")
        stored = add_message(
            session,
            conversation_id=conversation_id,
            direction="out",
            sender="system",
            text=apology,
            channel=channel,
            delivery_state="queued",
        )
        return [StoredMessage.from_row(stored)]
