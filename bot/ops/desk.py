"""What the ops skills read and change: the incident registry, the shop's open orders in
an incident's scope, the contacts about it and the queue. The actions stay thin: they
check who is asking, call one method here and render what it returns (bot/ops/texts.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.backends.protocols import BackendUnavailable
from bot.domain.handoff import HandoffPolicy
from bot.domain.incident_changes import IncidentChange, IncidentDraft
from bot.domain.incidents import Incident
from bot.domain.notices import Occasion, PlannedNotice, Progress, plan_notices
from bot.domain.order_desk import OrderDesk
from bot.domain.orders import OrderInScope, OrderStatus
from bot.handoff.queue import QueueSnapshot, snapshot
from bot.storage import incidents as registry
from bot.storage import notices
from bot.storage.incident_contacts import contacts_about, handoffs_about
from bot.storage.incidents import Author, TimelineEntry
from bot.storage.tables import Handoff

T = TypeVar("T")


@dataclass(frozen=True)
class Audience:
    """The open orders an incident covers and the customers they belong to."""

    orders: int
    customers: int
    by_status: dict[OrderStatus, int]

    @classmethod
    def of(cls, orders: list[OrderInScope]) -> Audience:
        return cls(
            orders=len(orders),
            customers=len({order.customer_id for order in orders}),
            by_status=dict(Counter(order.status for order in orders)),
        )


@dataclass(frozen=True)
class IncidentFigures:
    incident: Incident
    audience: Audience | None  # None: the shop's system did not answer
    contacts_last_hour: int


@dataclass(frozen=True)
class IncidentReport:
    figures: IncidentFigures
    timeline: list[TimelineEntry]
    handoffs: dict[str, int]
    notices: Progress | None


class OpsDesk:
    def __init__(
        self, *, sessions: sessionmaker[Session], orders: OrderDesk, policy: HandoffPolicy
    ) -> None:
        self._sessions = sessions
        self._orders = orders
        self._policy = policy

    async def audience(self, incident: Incident | IncidentDraft) -> Audience:
        """Raises BackendUnavailable when the shop cannot say: never a made-up count."""
        orders = await self._orders.open_orders_in_scope(
            regions=incident.regions,
            carriers=incident.carriers,
            placed_from=incident.orders_from,
            placed_to=incident.orders_to,
        )
        return Audience.of(orders)

    async def audience_if_known(self, incident: Incident | IncidentDraft) -> Audience | None:
        """For previews and confirmations, which go ahead without the count if need be."""
        try:
            return await self.audience(incident)
        except BackendUnavailable:
            return None

    async def incident(self, incident_id: int) -> Incident | None:
        return await self._read(
            lambda session: registry.get_incident(session, incident_id=incident_id)
        )

    async def delivery_network(self) -> tuple[list[str], list[str]]:
        """Empty when the shop's system does not answer: scopes then can't be checked."""
        try:
            return await self._orders.delivery_network()
        except BackendUnavailable:
            return [], []

    async def active(self, *, now: datetime) -> list[Incident]:
        return await self._read(lambda session: registry.active_incidents(session, at=now))

    async def every(self) -> list[Incident]:
        return await self._read(registry.all_incidents)

    async def figures(self, incident: Incident, *, now: datetime) -> IncidentFigures:
        audience = await self.audience_if_known(incident)
        since = now - timedelta(hours=1)
        contacts = await self._read(
            lambda session: contacts_about(session, incident_id=incident.id, since=since)
        )
        return IncidentFigures(incident, audience, contacts)

    async def report(self, incident: Incident, *, now: datetime) -> IncidentReport:
        figures = await self.figures(incident, now=now)
        entries = await self._read(
            lambda session: registry.timeline(session, incident_id=incident.id, limit=5)
        )
        handoffs = await self._read(
            lambda session: handoffs_about(session, incident_id=incident.id)
        )
        progress = await self.notice_progress(incident.id, now=now)
        return IncidentReport(figures, entries, handoffs, progress)

    async def queue(self, *, now: datetime) -> tuple[QueueSnapshot, int]:
        """The queue as agents see it, and how many handoffs the last hour brought."""
        active = len(await self.active(now=now))

        def read(session: Session) -> tuple[QueueSnapshot, int]:
            queue = snapshot(session, policy=self._policy, active_incidents=active)
            since = now - timedelta(hours=1)
            recent = session.scalar(
                sa.select(sa.func.count()).select_from(Handoff).where(Handoff.enqueued_at >= since)
            )
            return queue, int(recent or 0)

        return await self._read(read)

    async def declare(self, draft: IncidentDraft, *, author: Author) -> Incident:
        return await self._write(
            lambda session: registry.declare_incident(session, draft=draft, author=author)
        )

    async def change(self, incident_id: int, change: IncidentChange, *, author: Author) -> Incident:
        return await self._write(
            lambda session: registry.change_incident(
                session, incident_id=incident_id, change=change, author=author
            )
        )

    async def notice_plan(self, incident: Incident, occasion: Occasion) -> list[PlannedNotice]:
        """Everyone reachable with an open order in scope, one notice each; raises
        BackendUnavailable when the shop cannot say who is affected."""
        orders = await self._orders.open_orders_in_scope(
            regions=incident.regions,
            carriers=incident.carriers,
            placed_from=incident.orders_from,
            placed_to=incident.orders_to,
        )
        pairs = [(order.number, order.customer_id) for order in orders]
        recipients = await self._read(
            lambda session: notices.reachable(session, customer_ids=[c for _, c in pairs])
        )
        return plan_notices(incident, occasion, pairs, recipients)

    async def send_notices(self, incident: Incident, occasion: Occasion, *, author: Author) -> int:
        """Writes the whole fan-out to the outbox; the gateway's sender does the rest."""
        planned = await self.notice_plan(incident, occasion)
        await self._write(
            lambda session: notices.create_batch(
                session,
                incident_id=incident.id,
                occasion=occasion,
                author=author,
                notices=planned,
            )
        )
        return len(planned)

    async def notice_progress(self, incident_id: int, *, now: datetime) -> Progress | None:
        return await self._read(
            lambda session: notices.latest_progress(session, incident_id=incident_id, now=now)
        )

    async def _read(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self._sessions() as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def _write(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self._sessions.begin() as session:
                return work(session)

        return await asyncio.to_thread(run)
