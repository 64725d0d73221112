"""The handoff service the action server calls: queue a conversation, say the honest wait.

Synchronous SQLAlchemy; async callers run it in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.handoff import HandoffPolicy, HandoffReason, SurgeState
from bot.domain.waiting import WaitAnnouncement
from bot.handoff.queue import enqueue, snapshot
from bot.storage.tables import Conversation, utc_now


@dataclass(frozen=True)
class HandoffRequest:
    conversation_id: str
    reason: HandoffReason
    reason_detail: str
    summary: dict[str, Any]
    verified: bool
    affected_by_incident: bool
    order_value: Decimal | None


@dataclass(frozen=True)
class Queued:
    handoff_id: int
    announcement: WaitAnnouncement
    surge: SurgeState


class HandoffDesk:
    def __init__(self, session_factory: sessionmaker[Session], policy: HandoffPolicy) -> None:
        self._session_factory = session_factory
        self.policy = policy

    def surge(self, *, active_incidents: int) -> SurgeState:
        with self._session_factory() as session:
            return snapshot(session, policy=self.policy, active_incidents=active_incidents).surge

    def request(self, request: HandoffRequest, *, active_incidents: int) -> Queued:
        """Queues the conversation (or finds its place if already queued) and records what
        the customer is told, so announced and actual waits can be compared later."""
        with self._session_factory.begin() as session:
            conversation = session.get(Conversation, request.conversation_id)
            if conversation is None:
                raise LookupError("the conversation did not come through the gateway")
            handoff = enqueue(
                session,
                conversation_id=request.conversation_id,
                reason=request.reason,
                reason_detail=request.reason_detail,
                summary=request.summary,
                verified=request.verified,
                affected_by_incident=request.affected_by_incident,
                order_value=request.order_value,
            )
            conversation.engine_paused = True
            queue = snapshot(session, policy=self.policy, active_incidents=active_incidents)
            announcement = queue.announcement(handoff.id)
            assert announcement is not None  # it was just queued
            if handoff.last_announced_at is None:  # the first time only
                position = queue.position(handoff.id)
                handoff.announced_wait_minutes = (
                    None if position is None else queue.wait_minutes_at(position)
                )
            handoff.last_announced_position = announcement.position
            handoff.last_announced_at = utc_now()
            return Queued(handoff.id, announcement, queue.surge)
