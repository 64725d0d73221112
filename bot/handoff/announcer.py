"""Tells queued customers when their place in the queue moves, with the new honest wait."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import cast

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.delivery import Delivery
from bot.channels.relay_store import StoredMessage
from bot.domain.handoff import HandoffPolicy
from bot.domain.waiting import render_wait
from bot.handoff.console_hub import ConsoleHub
from bot.handoff.queue import snapshot
from bot.handoff.texts import CHOICE_BUTTONS
from bot.storage.conversations import add_message
from bot.storage.tables import Channel, Conversation, utc_now

logger = logging.getLogger(__name__)


def due_updates(
    session_factory: sessionmaker[Session], *, policy: HandoffPolicy, active_incidents: int
) -> list[tuple[str, str, StoredMessage]]:
    """Stores an update for every waiting customer whose position changed since they were
    last told; returns (conversation, channel, message) for the channels to send."""
    updates: list[tuple[str, str, StoredMessage]] = []
    with session_factory.begin() as session:
        queue = snapshot(session, policy=policy, active_incidents=active_incidents)
        for handoff in queue.waiting:
            announcement = queue.announcement(handoff.id)
            if announcement is None or announcement.position == handoff.last_announced_position:
                continue
            conversation = session.get(Conversation, handoff.conversation_id)
            if conversation is None:
                continue
            choices = announcement.too_long or announcement.no_agents
            message = add_message(
                session,
                conversation_id=handoff.conversation_id,
                direction="out",
                sender="system",
                text=f"An update on your wait: {render_wait(announcement)}",
                buttons=list(CHOICE_BUTTONS) if choices else None,
                channel=cast(Channel, conversation.channel),
                delivery_state="queued",
            )
            handoff.last_announced_position = announcement.position
            handoff.last_announced_at = utc_now()
            updates.append(
                (handoff.conversation_id, conversation.channel, StoredMessage.from_row(message))
            )
    return updates


class QueueAnnouncer:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        policy: HandoffPolicy,
        deliveries: Mapping[str, Delivery],
        console: ConsoleHub,
        active_incidents: Callable[[], Awaitable[int]],
        interval_seconds: float,
    ) -> None:
        self._session_factory = session_factory
        self._policy = policy
        self._deliveries = deliveries
        self._console = console
        self._active_incidents = active_incidents
        self._interval = interval_seconds

    async def run_once(self) -> int:
        updates = await asyncio.to_thread(
            due_updates,
            self._session_factory,
            policy=self._policy,
            active_incidents=await self._active_incidents(),
        )
        for conversation_id, channel, message in updates:
            delivery = self._deliveries.get(channel)
            if delivery is not None:
                await delivery.deliver(conversation_id, [message])
        if updates:
            await self._console.notify({"type": "queue"})
        return len(updates)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.run_once()
            except Exception:
                logger.exception("announcing queue positions failed; trying again")
