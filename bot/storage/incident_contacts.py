"""Which customer contacts were about which incident: the bot records one when its answer
named an incident, so ops staff see how much an incident costs the desk, hour by hour."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.storage.ops_tables import DeskEvent
from bot.storage.tables import Conversation, Handoff

INCIDENT_CONTACT = "incident_contact"


def record_incident_contact(
    session: Session, *, incident_id: int, conversation_id: str, at: datetime
) -> None:
    """Once per conversation and incident: a customer asking three times is one contact."""
    seen = session.scalar(
        sa.select(DeskEvent.id).where(
            DeskEvent.kind == INCIDENT_CONTACT,
            DeskEvent.incident_id == incident_id,
            DeskEvent.conversation_id == conversation_id,
        )
    )
    if seen is not None:
        return
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.staff_id is not None:
        return  # not a customer's conversation through the gateway
    session.add(
        DeskEvent(
            kind=INCIDENT_CONTACT,
            at=at,
            conversation_id=conversation_id,
            channel=conversation.channel,
            incident_id=incident_id,
        )
    )


def contacts_about(session: Session, *, incident_id: int, since: datetime) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count(sa.distinct(DeskEvent.conversation_id))).where(
                DeskEvent.kind == INCIDENT_CONTACT,
                DeskEvent.incident_id == incident_id,
                DeskEvent.at >= since,
            )
        )
        or 0
    )


def handoffs_about(session: Session, *, incident_id: int) -> dict[str, int]:
    """Handoffs of conversations about the incident, by state (waiting, assigned, ...)."""
    about = sa.select(DeskEvent.conversation_id).where(
        DeskEvent.kind == INCIDENT_CONTACT, DeskEvent.incident_id == incident_id
    )
    rows = session.execute(
        sa.select(Handoff.state, sa.func.count())
        .where(Handoff.conversation_id.in_(about))
        .group_by(Handoff.state)
    )
    return {state: int(count) for state, count in rows}
