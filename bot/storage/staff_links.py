"""Storage functions for staff talking to the bot: one-time link codes, linked chats, and
who a conversation's sender is on the staff.

The role the engine hears comes from here, read from the agents row at every turn: a
role change, an unlink or a disabled account counts from the next message. Nothing a
message says can make its sender staff; only a console session (the Ops chat) or a
chat linked with a code from a console session can.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.domain.staff import Permission, may
from bot.storage.conversations import hash_token
from bot.storage.ops_tables import StaffChatLink, StaffLinkCode
from bot.storage.tables import Agent, ChannelAccount, Conversation, utc_now

# No 0/O, 1/I/L: read off a screen and typed on a phone without doubt. 31^8 is about
# 8.5e11 codes, against a handful alive at once, for 10 minutes, and few tries per chat.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(minutes=10)
# Used and expired codes are kept this long (they prove nothing after), then dropped.
_CODE_MEMORY = timedelta(days=1)
# Where a staff member's conversations are not a customer's: the console's Ops chat.
CONSOLE_CHANNEL: Final = "console"


@dataclass(frozen=True)
class StaffMember:
    """A staff member as the engine is told about them, read at this moment."""

    id: int
    display_name: str
    role: str

    def metadata(self) -> dict[str, object]:
        """What the gateway adds to a staff message's metadata (actions read these keys)."""
        return {"role": self.role, "staff_id": self.id, "staff_name": self.display_name}


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once; only its hash is stored
    expires_at: datetime


def _member(agent: Agent | None) -> StaffMember | None:
    """A disabled account is nobody: its chats and conversations are a customer's again."""
    if agent is None or agent.disabled_at is not None:
        return None
    return StaffMember(id=agent.id, display_name=agent.display_name, role=agent.role)


def normalised_code(text: str) -> str | None:
    """The code as typed ("k7qf 3mzp", "K7QF-3MZP"), or None if it cannot be one."""
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def issue_link_code(session: Session, *, agent_id: int, now: datetime | None = None) -> IssuedCode:
    """A fresh code for the member; their older unused codes stop working, so only the
    one on their screen is alive."""
    moment = now or utc_now()
    session.execute(
        sa.delete(StaffLinkCode).where(
            sa.or_(
                sa.and_(StaffLinkCode.agent_id == agent_id, StaffLinkCode.used_at.is_(None)),
                StaffLinkCode.expires_at < moment - _CODE_MEMORY,
            )
        )
    )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = moment + CODE_LIFETIME
    session.add(
        StaffLinkCode(
            code_hash=hash_token(code), agent_id=agent_id, created_at=moment, expires_at=expires_at
        )
    )
    session.flush()
    return IssuedCode(code=code, expires_at=expires_at)


def redeem_link_code(
    session: Session,
    *,
    code: str,
    channel: str,
    external_id: str,
    now: datetime | None = None,
) -> StaffMember | None:
    """Links the chat to the code's member, or None for a code that is wrong, expired,
    used, or whose member may no longer run incidents (callers answer all alike).

    The code is spent by one conditional UPDATE, so two chats sending it at once cannot
    both win. The member's earlier link and the chat's earlier link give way.
    """
    moment = now or utc_now()
    normal = normalised_code(code)
    if normal is None:
        return None
    code_hash = hash_token(normal)
    row = session.get(StaffLinkCode, code_hash)
    if row is None or row.used_at is not None or row.expires_at <= moment:
        return None
    member = _member(session.get(Agent, row.agent_id))
    if member is None or not may(member.role, Permission.INCIDENTS):
        return None
    spent = session.execute(
        sa.update(StaffLinkCode)
        .where(StaffLinkCode.code_hash == code_hash, StaffLinkCode.used_at.is_(None))
        .values(used_at=moment)
        .execution_options(synchronize_session=False)
    )
    if not getattr(spent, "rowcount", 0):
        return None
    session.execute(
        sa.delete(StaffChatLink).where(
            sa.or_(
                StaffChatLink.agent_id == member.id,
                sa.and_(StaffChatLink.channel == channel, StaffChatLink.external_id == external_id),
            )
        )
    )
    session.flush()  # the deletes first: both columns are unique
    session.add(
        StaffChatLink(
            agent_id=member.id, channel=channel, external_id=external_id, linked_at=moment
        )
    )
    session.flush()
    return member


def chat_link(session: Session, *, agent_id: int) -> StaffChatLink | None:
    return session.scalars(
        sa.select(StaffChatLink).where(StaffChatLink.agent_id == agent_id)
    ).first()


def linked_member(session: Session, *, channel: str, external_id: str) -> StaffMember | None:
    """The staff member whose own chat this is, or None (a customer, or a disabled member)."""
    agent = session.scalars(
        sa.select(Agent)
        .join(StaffChatLink, StaffChatLink.agent_id == Agent.id)
        .where(StaffChatLink.channel == channel, StaffChatLink.external_id == external_id)
    ).first()
    return _member(agent)


def unlink_member(session: Session, *, agent_id: int) -> StaffChatLink | None:
    """Removes the member's link, and their unused codes with it (unlinking means no chat
    of theirs, now or from a code already shown); returns the link, or None."""
    session.execute(
        sa.delete(StaffLinkCode).where(
            StaffLinkCode.agent_id == agent_id, StaffLinkCode.used_at.is_(None)
        )
    )
    link = chat_link(session, agent_id=agent_id)
    if link is not None:
        session.delete(link)
    session.flush()
    return link


def unlink_chat(session: Session, *, channel: str, external_id: str) -> StaffMember | None:
    """From the chat itself (/unlink): the member it was linked to, or None."""
    link = session.scalars(
        sa.select(StaffChatLink).where(
            StaffChatLink.channel == channel, StaffChatLink.external_id == external_id
        )
    ).first()
    if link is None:
        return None
    agent = session.get(Agent, link.agent_id)
    session.delete(link)
    session.flush()
    return _member(agent)


def forget_member(session: Session, *, agent_id: int) -> None:
    """For a disabled account: its chat goes back to being a customer's, its codes die."""
    link = unlink_member(session, agent_id=agent_id)
    if link is not None:
        close_chat_conversation(session, channel=link.channel, external_id=link.external_id)
    session.execute(sa.delete(StaffLinkCode).where(StaffLinkCode.agent_id == agent_id))
    session.flush()


def close_chat_conversation(
    session: Session, *, channel: str, external_id: str, now: datetime | None = None
) -> None:
    """Ends the chat's current conversation when it changes hands (linked or unlinked), so
    the next message starts a new one: the engine's memory of a customer's conversation
    (verified orders) never carries into a staff one, nor the other way. A conversation
    waiting for or with a person is left alone."""
    account = session.scalars(
        sa.select(ChannelAccount).where(
            ChannelAccount.channel == channel, ChannelAccount.external_id == external_id
        )
    ).first()
    if account is None or account.current_conversation_id is None:
        return
    conversation = session.get(Conversation, account.current_conversation_id)
    if conversation is not None and conversation.state in ("queued", "agent"):
        return
    if conversation is not None and conversation.closed_at is None:
        conversation.closed_at = now or utc_now()
        conversation.close_reason = "staff_link"
    account.current_conversation_id = None
    session.flush()


def staff_for_conversation(session: Session, *, conversation: Conversation) -> StaffMember | None:
    """Who on the staff is talking in this conversation, now; None for a customer.

    The console's Ops chat belongs to the member who opened it. A Telegram conversation
    is staff while its chat is linked: the link, not the conversation's `staff_id`, is
    asked, so that an unlink counts from the next message.
    """
    if conversation.channel == CONSOLE_CHANNEL:
        if conversation.staff_id is None:
            return None
        return _member(session.get(Agent, conversation.staff_id))
    if conversation.channel != "telegram" or conversation.account_id is None:
        return None
    account = session.get(ChannelAccount, conversation.account_id)
    if account is None:
        return None
    return linked_member(session, channel="telegram", external_id=account.external_id)
