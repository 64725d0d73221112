"""Appending the desk's events (bot/domain/desk_events.py), in the caller's transaction.

Every function takes the caller's session and only adds rows, so an event commits or
rolls back with the change it records: a handoff that failed to save leaves no
"handed off" behind, and one that saved always has it. Nothing here commits.

Staff talking to the bot (conversations with `staff_id`) are no customer contacts and
leave no events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.domain.desk_events import EventKind, is_topic
from bot.storage.ops_tables import DeskEvent
from bot.storage.tables import Conversation, Handoff, utc_now

# How each way a handoff ends is recorded (Handoff.state -> kind).
_ENDINGS = {
    "closed": EventKind.RESOLVED,
    "returned": EventKind.RESOLVED,
    "left": EventKind.ABANDONED,
    "callback": EventKind.CALLBACK,
}


def record_event(
    session: Session,
    *,
    kind: EventKind | str,
    at: datetime | None = None,
    conversation_id: str | None = None,
    channel: str | None = None,
    handoff_id: int | None = None,
    agent_id: int | None = None,
    incident_id: int | None = None,
    intent: str | None = None,
    value: float | None = None,
    account_id: int | None = None,
) -> DeskEvent:
    """Refuses a kind the figures do not know: a typo would otherwise be lost silently."""
    event = DeskEvent(
        kind=EventKind(kind).value,
        at=at or utc_now(),
        conversation_id=conversation_id,
        channel=channel,
        handoff_id=handoff_id,
        agent_id=agent_id,
        incident_id=incident_id,
        intent=intent,
        value=value,
        account_id=account_id,
    )
    session.add(event)
    session.flush()
    return event


def _contact(session: Session, conversation_id: str) -> Conversation | None:
    """The conversation, if it is a customer's."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.staff_id is not None:
        return None
    return conversation


def _recorded(
    session: Session, conversation_id: str, kind: EventKind, handoff_id: int | None = None
) -> DeskEvent | None:
    query = sa.select(DeskEvent).where(
        DeskEvent.conversation_id == conversation_id, DeskEvent.kind == kind.value
    )
    if handoff_id is not None:
        query = query.where(DeskEvent.handoff_id == handoff_id)
    return session.scalars(query.order_by(DeskEvent.at).limit(1)).first()


def _record_for(
    session: Session, conversation: Conversation, kind: EventKind, **fields: Any
) -> DeskEvent:
    return record_event(
        session,
        kind=kind,
        conversation_id=conversation.id,
        channel=conversation.channel,
        account_id=conversation.account_id,
        **fields,
    )


def note_message(session: Session, *, conversation_id: str, sender: str, at: datetime) -> None:
    """Called for every stored message: a customer's first one opens a contact; an agent's
    first one in a handoff is the first response."""
    if sender not in ("customer", "agent"):
        return
    conversation = _contact(session, conversation_id)
    if conversation is None:
        return
    if sender == "customer":
        if _recorded(session, conversation_id, EventKind.OPENED) is None:
            _record_for(session, conversation, EventKind.OPENED, at=at)
        return
    handoff = session.scalars(
        sa.select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.state == "assigned")
        .order_by(Handoff.id.desc())
    ).first()
    if handoff is None or _recorded(
        session, conversation_id, EventKind.AGENT_FIRST_REPLY, handoff.id
    ):
        return
    _record_for(
        session,
        conversation,
        EventKind.AGENT_FIRST_REPLY,
        at=at,
        handoff_id=handoff.id,
        agent_id=handoff.agent_id,
        value=max(0.0, (at - handoff.enqueued_at).total_seconds()),
    )


def incident_of_handoff(summary: Mapping[str, Any]) -> int | None:
    """The incident a handoff is about, when the action that queued it named one in the
    summary (`incident_id`); handoffs only know `affected_by_incident` until then."""
    value = summary.get("incident_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def record_handed_off(session: Session, handoff: Handoff) -> None:
    conversation = _contact(session, handoff.conversation_id)
    if conversation is not None:
        _record_for(
            session,
            conversation,
            EventKind.HANDED_OFF,
            at=handoff.enqueued_at,
            handoff_id=handoff.id,
            incident_id=incident_of_handoff(handoff.summary or {}),
        )


def record_handoff_end(session: Session, handoff: Handoff) -> None:
    """By how it ended: resolved (closed or handed back), abandoned, or a call-back. A
    close also asks the customer for a rating, so the survey counts as sent."""
    kind = _ENDINGS.get(handoff.state)
    conversation = _contact(session, handoff.conversation_id)
    if kind is None or conversation is None or handoff.ended_at is None:
        return
    ended = handoff.ended_at
    if kind is EventKind.RESOLVED:
        opened = _recorded(session, conversation.id, EventKind.OPENED)
        began = opened.at if opened is not None else conversation.created_at
    else:
        began = handoff.enqueued_at
    _record_for(
        session,
        conversation,
        kind,
        at=ended,
        handoff_id=handoff.id,
        agent_id=handoff.agent_id,
        value=max(0.0, (ended - began).total_seconds()),
    )
    if handoff.state == "closed":
        record_survey_sent(
            session, conversation_id=conversation.id, handoff_id=handoff.id, at=ended
        )


def record_survey_sent(
    session: Session, *, conversation_id: str, handoff_id: int | None, at: datetime | None = None
) -> None:
    conversation = _contact(session, conversation_id)
    if conversation is not None:
        _record_for(session, conversation, EventKind.SURVEY_SENT, at=at, handoff_id=handoff_id)


def record_rating(
    session: Session, *, conversation_id: str, handoff_id: int | None, score: int
) -> None:
    conversation = _contact(session, conversation_id)
    if conversation is not None:
        _record_for(
            session, conversation, EventKind.RATED, handoff_id=handoff_id, value=float(score)
        )


def record_conversation_closed(
    session: Session, conversation: Conversation, *, at: datetime
) -> None:
    """A contact that ends without ever having gone to a person was the bot's alone."""
    if conversation.staff_id is not None:
        return
    if _recorded(session, conversation.id, EventKind.OPENED) is None:
        return  # the customer never wrote: no contact
    if _recorded(session, conversation.id, EventKind.HANDED_OFF) is not None:
        return
    if _recorded(session, conversation.id, EventKind.BOT_RESOLVED) is None:
        _record_for(session, conversation, EventKind.BOT_RESOLVED, at=at)


def wants_topic(session: Session, *, conversation_id: str) -> bool:
    """Whether the engine should say which intent it read: only until a contact's topic is
    known, since telling costs the engine a read of the conversation."""
    if _contact(session, conversation_id) is None:
        return False
    return _recorded(session, conversation_id, EventKind.INTENT) is None


def record_topic(session: Session, *, conversation_id: str, intent: str | None) -> None:
    """The contact's first topic; greetings, yes/no and the like wait for a real one."""
    if not is_topic(intent) or not wants_topic(session, conversation_id=conversation_id):
        return
    conversation = _contact(session, conversation_id)
    assert conversation is not None  # wants_topic checked
    _record_for(session, conversation, EventKind.INTENT, intent=intent)
