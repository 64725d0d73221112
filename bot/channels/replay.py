"""Answers messages kept while the engine or the action server was down, once they are back.

It also picks up messages a crashed gateway took in but never answered: anything
still "received" after `stale_after` has no request working on it any more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.delivery import Delivery
from bot.channels.relay import Relay
from bot.storage.conversations import conversations_with_unanswered
from bot.storage.tables import utc_now

logger = logging.getLogger(__name__)


def _waiting(
    session_factory: sessionmaker[Session], *, stale_after: timedelta
) -> list[tuple[str, str]]:
    with session_factory() as session:
        return [
            (conversation_id, str(channel))
            for conversation_id, channel in conversations_with_unanswered(
                session, received_before=utc_now() - stale_after
            )
        ]


class Replayer:
    def __init__(
        self,
        *,
        relay: Relay,
        session_factory: sessionmaker[Session],
        deliveries: Mapping[str, Delivery],
        interval_seconds: float,
        stale_after: timedelta,
    ) -> None:
        self._relay = relay
        self._session_factory = session_factory
        self._deliveries = deliveries
        self._interval = interval_seconds
        self._stale_after = stale_after

    async def run_once(self) -> int:
        """Answers what is waiting if the engine is ready; returns conversations answered."""
        waiting = await asyncio.to_thread(
            _waiting, self._session_factory, stale_after=self._stale_after
        )
        if not waiting or not await self._relay.engine.ready():
            return 0
        answered = 0
        for conversation_id, channel in waiting:
            produced = await self._relay.answer(conversation_id=conversation_id)
            if not produced:
                continue
            answered += 1
            delivery = self._deliveries.get(channel)
            if delivery is not None:
                await delivery.deliver(conversation_id, produced)
        if answered:
            logger.info("answered kept messages in %d conversation(s)", answered)
        return answered

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                # One bad round (the database restarting, say) must not end the replayer.
                logger.exception("replaying kept messages failed; trying again")
            await asyncio.sleep(self._interval)
