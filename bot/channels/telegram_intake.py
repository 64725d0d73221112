"""Taking in Telegram updates so that none is lost between "seen" and "stored".

An update counts as seen only when what it brought is stored (its id is claimed in
that transaction, see telegram_store). PTB hands handler failures to an error
handler and carries on, so this module tells whether a failed update got stored:
- webhook: the call that brought the update waits for its handling and answers
  with an error if it was not stored; Telegram then sends it again. Durable.
- polling: PTB's updater has already confirmed the update to Telegram, so the only
  copy is in this process; it is retried a few times here, then given up with an
  error log. A crash or restart meanwhile loses it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import Application

from bot.channels import telegram_store as store

logger = logging.getLogger(__name__)

POLLING_RETRY_DELAYS = (0.5, 1.0, 2.0)  # seconds before each retry of an update not stored


class UpdateNotStored(Exception):
    """Handling an update failed before its message was stored: it must come again."""


class DurableIntake:
    """Runs the Application's handlers on updates and follows up those not stored."""

    def __init__(
        self,
        *,
        application: Application[Any, Any, Any, Any, Any, Any],
        session_factory: sessionmaker[Session],
        retry_delays: Sequence[float] = POLLING_RETRY_DELAYS,
    ) -> None:
        self._application = application
        self._session_factory = session_factory
        self._retry_delays = tuple(retry_delays)
        # Updates whose handling this object awaits (webhook calls, retries), and those
        # of them that failed before their message was stored, with the error's type.
        self._watched: set[int] = set()
        self._lost: dict[int, str] = {}
        self._retries: set[asyncio.Task[None]] = set()

    async def process(self, update: Update) -> None:
        """For a webhook call: raises UpdateNotStored if the update's message was not stored."""
        failure = await self._handle_watched(update)
        if failure is not None:
            raise UpdateNotStored(failure)

    async def failed(self, update: object, failure: str) -> None:
        """From the error handler: `failure` is the error's type name."""
        if not isinstance(update, Update) or await self._was_taken(update.update_id):
            return  # stored: the replayer answers it if nobody else does
        if update.update_id in self._watched:
            self._lost[update.update_id] = failure
        elif self._application.updater is not None:
            task = asyncio.create_task(self._retry(update))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    async def stop(self) -> None:
        for task in self._retries:
            task.cancel()
        await asyncio.gather(*self._retries, return_exceptions=True)

    async def _was_taken(self, update_id: int) -> bool:
        try:
            return await asyncio.to_thread(store.taken, self._session_factory, update_id)
        except Exception:  # the database may be what failed: then nothing was stored
            return False

    async def _handle_watched(self, update: Update) -> str | None:
        """Handles an update once; the failure's type if its message was not stored."""
        self._watched.add(update.update_id)
        try:
            await self._application.process_update(update)
            return self._lost.get(update.update_id)
        finally:
            self._watched.discard(update.update_id)
            self._lost.pop(update.update_id, None)

    async def _retry(self, update: Update) -> None:
        """Polling confirmed the update to Telegram before it was stored: only this
        process can still take it in, and only while it runs."""
        failure = None
        for delay in self._retry_delays:
            await asyncio.sleep(delay)
            failure = await self._handle_watched(update)
            if failure is None:
                return
        logger.error(
            "gave up on Telegram update %d after %d retries (%s); its message is lost",
            update.update_id,
            len(self._retry_delays),
            failure,
        )
