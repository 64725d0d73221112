"""Putting a conversation in the human queue as the bot's handoff does, for tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.domain.handoff import HandoffReason
from bot.handoff.queue import enqueue
from bot.storage.tables import Handoff


def customer_asked(session: Session, *, conversation_id: str) -> Handoff:
    """The plainest entry: an unverified customer who asked for a person."""
    return enqueue(
        session,
        conversation_id=conversation_id,
        reason=HandoffReason.CUSTOMER_ASKED,
        reason_detail="asked for a person",
        summary={},
        verified=False,
        affected_by_incident=False,
        order_value=None,
    )
