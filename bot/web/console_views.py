"""What the console shows, read from the database in one place for the console routes."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.channels.relay_store import StoredMessage
from bot.channels.webchat_hub import message_frame
from bot.domain.waiting import whole_minutes
from bot.handoff.queue import snapshot
from bot.settings import handoff_policy
from bot.storage.conversations import list_messages
from bot.storage.incidents import active_incidents
from bot.storage.tables import Agent, AgentNote, Channel, Conversation, Handoff, Message, utc_now
from bot.web.api import GatewayServices
from bot.web.console_schemas import (
    ActiveIncidentOut,
    HandoffDetail,
    MessageOut,
    NoteOut,
    Queue,
    QueueEntry,
    SurgeOut,
)


def channel_of(session: Session, conversation_id: str) -> Channel:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise LookupError(f"no conversation {conversation_id}")
    return cast(Channel, conversation.channel)


# A message as the console's API shows it: the same fields as a web chat page's.
message_out = message_frame


def _last_customer_text(session: Session, conversation_id: str) -> str | None:
    text = session.scalar(
        sa.select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.sender == "customer")
        .order_by(Message.id.desc())
        .limit(1)
    )
    return None if text is None else text[:200]


def _entry(
    session: Session, handoff: Handoff, *, position: int | None, priority: float
) -> dict[str, Any]:
    name = (handoff.summary or {}).get("customer_name")
    return {
        "id": handoff.id,
        "conversation_id": handoff.conversation_id,
        "channel": channel_of(session, handoff.conversation_id),
        "reason": handoff.reason,
        "reason_detail": handoff.reason_detail,
        "priority": round(priority, 1),
        "position": position,
        "state": handoff.state,
        "enqueued_at": handoff.enqueued_at,
        "waited_seconds": int((utc_now() - handoff.enqueued_at).total_seconds()),
        "customer": f"verified: {name}" if handoff.verified and name else "not verified",
        "last_message": _last_customer_text(session, handoff.conversation_id),
    }


def queue_view(services: GatewayServices, *, agent: Agent) -> Queue:
    """The incidents come from the registry the bot and the surge rule read, in the same
    session as the queue, so the banner and the surge reasons agree."""
    with services.session_factory() as session:
        incidents = active_incidents(session, at=utc_now())
        queue = snapshot(
            session, policy=handoff_policy(services.settings), active_incidents=len(incidents)
        )
        waiting = [
            QueueEntry(**_entry(session, h, position=i, priority=queue.scores.get(h.id, 0.0)))
            for i, h in enumerate(queue.waiting, start=1)
        ]
        mine = [
            QueueEntry(**_entry(session, h, position=None, priority=0.0))
            for h in session.scalars(
                sa.select(Handoff)
                .where(Handoff.agent_id == agent.id, Handoff.state == "assigned")
                .order_by(Handoff.assigned_at)
            )
        ]
        wait = queue.expected_wait_for_new_arrival()
        return Queue(
            waiting=waiting,
            mine=mine,
            agents_available=queue.agents_available,
            expected_wait_minutes=None if wait is None else whole_minutes(wait),
            surge=SurgeOut(active=queue.surge.active, reasons=list(queue.surge.reasons)),
            incidents=[
                ActiveIncidentOut(
                    id=incident.id,
                    title=incident.title,
                    severity=incident.severity,
                    scope=incident.scope_text,
                    customer_note=incident.customer_note,
                    expected_recovery=incident.expected_recovery,
                )
                for incident in incidents
            ],
        )


def handoff_detail(services: GatewayServices, *, handoff_id: int) -> HandoffDetail | None:
    with services.session_factory() as session:
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            return None
        agent = session.get(Agent, handoff.agent_id) if handoff.agent_id else None
        notes = session.scalars(
            sa.select(AgentNote).where(AgentNote.handoff_id == handoff_id).order_by(AgentNote.id)
        )
        authors = {a.id: a.display_name for a in session.scalars(sa.select(Agent))}
        return HandoffDetail(
            **_entry(session, handoff, position=None, priority=0.0),
            summary=handoff.summary or {},
            transcript=[
                MessageOut.model_validate(message_out(StoredMessage.from_row(m)))
                for m in list_messages(session, conversation_id=handoff.conversation_id)
            ],
            notes=[
                NoteOut(
                    id=n.id,
                    agent=authors.get(n.agent_id, "?"),
                    text=n.text,
                    created_at=n.created_at,
                )
                for n in notes
            ],
            agent=agent.display_name if agent else None,
        )
