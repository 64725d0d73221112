"""`/link CODE` and `/unlink` on Telegram: a staff member's own chat, made by the gateway.

The engine never sees these commands, and the code is not kept anywhere readable: the
transcript says "/link [code hidden]". A wrong, expired or used code gets one answer
that does not say which, and failures are limited per chat (the channel counts them).
Linking or unlinking ends the chat's current conversation, so the next message starts
a fresh one on the right side of the desk.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.relay_store import StoredMessage
from bot.security.clients import telegram_client_key
from bot.security.rate_limit import Verdict
from bot.storage.accounts import claim_telegram_update, current_conversation, get_or_create_account
from bot.storage.conversations import add_message
from bot.storage.staff_links import (
    StaffMember,
    close_chat_conversation,
    redeem_link_code,
    unlink_chat,
)

# What the chat's transcript keeps of a /link: never the code.
STORED_LINK_TEXT = "/link [code hidden]"
STORED_UNLINK_TEXT = "/unlink"
LINK_REFUSED = (
    "Sorry, that code didn't work. A code works once and for 10 minutes: make a new one "
    "in the console (Ops chat, Telegram) and send /link CODE again."
)
LINK_USAGE = "Send /link and the code the console shows you, like this: /link K7QF3MZP"
LINK_PAUSED = (
    "Too many codes from this chat didn't work. Please wait {minutes} minutes, then make "
    "a new code in the console and try again."
)
UNLINKED = (
    "Unlinked: this chat is no longer connected to your staff account. "
    "I'll answer you here as I answer customers."
)
NOT_LINKED = "This chat isn't linked to a staff account, so there is nothing to unlink."
# "/link", "/link@shop_bot", any case, with or without what follows.
STAFF_COMMAND = re.compile(r"^\s*/(link|unlink)(@\w+)?(\s|$)", re.IGNORECASE)


def linked_reply(member: StaffMember) -> str:
    return (
        f"Linked: you're {member.display_name} ({member.role}) here. Ask me "
        '"what\'s going on?" or "which incidents are active?". Send /unlink to stop.'
    )


def paused_reply(verdict: Verdict) -> str:
    return LINK_PAUSED.format(minutes=max(1, math.ceil(verdict.retry_after / 60)))


def command_argument(text: str) -> str | None:
    """What follows the command ("/link K7QF 3MZP" -> "K7QF 3MZP"), or None."""
    parts = text.strip().split(maxsplit=1)
    return parts[1].strip() if len(parts) == 2 and parts[1].strip() else None


@dataclass(frozen=True)
class Outcome:
    reply: str
    # The chat changed hands (linked, or unlinked): its conversation ends.
    changed_hands: bool = False
    # A code that did not work: counted against the chat.
    failed: bool = False


# Runs in the command's transaction, with the chat's external id.
Act = Callable[[Session, str], Outcome]


def link_with(code: str | None, allowed: Verdict) -> Act:
    def act(session: Session, external_id: str) -> Outcome:
        if not allowed.allowed:
            return Outcome(paused_reply(allowed))
        if code is None:
            return Outcome(LINK_USAGE)
        member = redeem_link_code(session, code=code, channel="telegram", external_id=external_id)
        if member is None:
            return Outcome(LINK_REFUSED, failed=True)
        return Outcome(linked_reply(member), changed_hands=True)

    return act


def unlink(session: Session, external_id: str) -> Outcome:
    member = unlink_chat(session, channel="telegram", external_id=external_id)
    return Outcome(UNLINKED, changed_hands=True) if member is not None else Outcome(NOT_LINKED)


@dataclass(frozen=True)
class Handled:
    conversation_id: str
    reply: StoredMessage
    outcome: Outcome


def handle_command(
    session_factory: sessionmaker[Session],
    *,
    update_id: int,
    user_id: int,
    idle_after: timedelta,
    shown_text: str,
    act: Act,
) -> Handled | None:
    """One transaction: the update's claim, the command's effect and both sides of the
    exchange; None when the update was taken in before (Telegram re-sending it)."""
    with session_factory.begin() as session:
        if not claim_telegram_update(session, update_id=update_id):
            return None
        account = get_or_create_account(session, channel="telegram", external_id=str(user_id))
        conversation = current_conversation(
            session,
            account=account,
            idle_after=idle_after,
            client_key=telegram_client_key(user_id),
        ).conversation
        outcome = act(session, account.external_id)
        add_message(
            session,
            conversation_id=conversation.id,
            direction="in",
            sender="customer",
            text=shown_text,
            channel="telegram",
            delivery_state="processed",
        )
        stored = add_message(
            session,
            conversation_id=conversation.id,
            direction="out",
            sender="bot",
            text=outcome.reply,
            channel="telegram",
            delivery_state="queued",
        )
        if outcome.changed_hands:
            close_chat_conversation(session, channel="telegram", external_id=account.external_id)
        return Handled(conversation.id, StoredMessage.from_row(stored), outcome)
