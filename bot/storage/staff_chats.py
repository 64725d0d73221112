"""Storage functions for the console's Ops chat: a staff member's own conversation with
the bot, and the buttons the bot offered in it.

The conversation has `staff_id` set from the start: it is no customer contact, and
the gateway tells the engine the member's role on every turn (bot/storage/staff_links.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.storage.conversations import create_conversation, went_idle
from bot.storage.staff_links import CONSOLE_CHANNEL
from bot.storage.tables import Button, Conversation, Message, utc_now

# How far back a pressed button is looked for: far more than one chat shows at once.
_OFFERED_MESSAGES = 50


def current_ops_conversation(
    session: Session, *, agent_id: int, idle_after: timedelta, now: datetime | None = None
) -> Conversation | None:
    """The member's open Ops chat, or None when there is none or it went idle (then the
    next message starts a new one, as on every channel). Reads only."""
    conversation = session.scalars(
        sa.select(Conversation)
        .where(
            Conversation.channel == CONSOLE_CHANNEL,
            Conversation.staff_id == agent_id,
            Conversation.closed_at.is_(None),
        )
        .order_by(Conversation.created_at.desc())
        .limit(1)
    ).first()
    if conversation is None:
        return None
    if went_idle(session, conversation, idle_after=idle_after, now=now or utc_now()):
        return None
    return conversation


def open_ops_conversation(
    session: Session,
    *,
    agent_id: int,
    idle_after: timedelta,
    client_key: str | None,
    now: datetime | None = None,
) -> Conversation:
    """The member's current Ops chat, or a new one; earlier open ones are closed (idle)."""
    moment = now or utc_now()
    current = current_ops_conversation(session, agent_id=agent_id, idle_after=idle_after, now=now)
    if current is not None:
        return current
    session.execute(
        sa.update(Conversation)
        .where(
            Conversation.channel == CONSOLE_CHANNEL,
            Conversation.staff_id == agent_id,
            Conversation.closed_at.is_(None),
        )
        .values(closed_at=moment, close_reason="idle")
        .execution_options(synchronize_session=False)
    )
    conversation, _ = create_conversation(session, channel=CONSOLE_CHANNEL, client_key=client_key)
    conversation.staff_id = agent_id
    session.flush()
    return conversation


def offered_button(
    session: Session, *, conversation_id: str, message_id: int, index: int
) -> Button | None:
    """A button on one of the bot's messages in this conversation, or None (another
    conversation's message, no such button)."""
    message = session.get(Message, message_id)
    if (
        message is None
        or message.conversation_id != conversation_id
        or message.direction != "out"
        or not message.buttons
        or not 0 <= index < len(message.buttons)
    ):
        return None
    return message.buttons[index]


def offered_payloads(session: Session, *, conversation_id: str, before_id: int) -> set[str]:
    """Payloads of the buttons the gateway's side showed in the conversation before a
    message: a staff message equal to one of them is that button pressed."""
    rows = session.scalars(
        sa.select(Message.buttons)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "out",
            Message.id < before_id,
            Message.buttons.is_not(None),
        )
        .order_by(Message.id.desc())
        .limit(_OFFERED_MESSAGES)
    )
    return {button["payload"] for buttons in rows for button in buttons or []}
