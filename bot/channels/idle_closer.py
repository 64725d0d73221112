"""Closes customer conversations that went idle, soon after they did.

The channels close an idle conversation lazily, when its customer writes again; most
customers never do, and a conversation that is never closed never counts as one the bot
handled to the end (the desk's containment). This sweep closes them by the same rule
(`went_idle`) within a minute of their timeout; a customer who writes later starts a
new conversation exactly as before.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.conversations import close_if_idle, lock_conversation
from bot.storage.tables import Conversation, utc_now

logger = logging.getLogger(__name__)

# Per round, so that a backlog (a gateway that was down for a day) is closed in slices.
BATCH = 200


class IdleCloser:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        idle_after: timedelta,
        interval_seconds: float,
    ) -> None:
        self._session_factory = session_factory
        self._idle_after = idle_after
        self._interval = interval_seconds

    def _candidates(self, now: datetime) -> list[str]:
        with self._session_factory() as session:
            return list(
                session.scalars(
                    sa.select(Conversation.id)
                    .where(
                        Conversation.closed_at.is_(None),
                        Conversation.staff_id.is_(None),
                        Conversation.state.not_in(("queued", "agent")),
                        Conversation.last_activity_at < now - self._idle_after,
                    )
                    .order_by(Conversation.last_activity_at)
                    .limit(BATCH)
                )
            )

    def _close(self, conversation_id: str, now: datetime) -> bool:
        """Decided again under the conversation's lock: a message may have come meanwhile,
        or another gateway may have closed it."""
        with self._session_factory.begin() as session:
            conversation = lock_conversation(session, conversation_id=conversation_id)
            return close_if_idle(session, conversation, idle_after=self._idle_after, now=now)

    def sweep(self, now: datetime | None = None) -> int:
        """Closes what went idle; returns how many."""
        moment = now or utc_now()
        return sum(self._close(cid, moment) for cid in self._candidates(moment))

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                closed = await asyncio.to_thread(self.sweep)
            except Exception:
                logger.exception("closing idle conversations failed; trying again")
                continue
            if closed:
                logger.info("closed %d idle conversation(s)", closed)
