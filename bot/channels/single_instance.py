"""Jobs that must run on one gateway instance at a time, whichever instance that is.

Several gateways serve the same conversations; the replayer of kept messages, the
queue announcer and the idle closer would each act twice if every instance ran
them. Each instance asks for one lease in the database every third of a lease: the
one that holds it runs the jobs, the others wait. An instance that stops cleanly
gives the lease up at once; one that dies stops renewing it, and another takes
over once it lapses (within one lease and a third).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.storage.job_leases import hold, release
from bot.storage.tables import utc_now

logger = logging.getLogger(__name__)

Job = Callable[[], Coroutine[Any, Any, None]]


def instance_name(port: int) -> str:
    """The same for a gateway restarted on its host and port, so that after a crash it
    takes its own lease back at once instead of waiting for it to lapse; different for
    any two gateways running at once (they cannot share a port)."""
    return f"{socket.gethostname()[:80]}:{port}"


class SingleInstanceJobs:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        name: str,
        jobs: Sequence[Job],
        lease_seconds: float,
        holder: str,
    ) -> None:
        self._session_factory = session_factory
        self._name = name
        self._jobs = jobs
        self._lease = timedelta(seconds=lease_seconds)
        self.holder = holder
        self._running: list[asyncio.Task[None]] = []

    async def run_forever(self) -> None:
        """Holds the lease and runs the jobs while it does; gives it up when cancelled."""
        try:
            while True:
                held = await self._renew()
                if held and not self._running:
                    logger.info("this instance (%s) now runs %s", self.holder, self._name)
                    self._running = [asyncio.create_task(job()) for job in self._jobs]
                elif not held and self._running:
                    logger.warning("this instance lost the lease on %s; stopping them", self._name)
                    await self._stop_jobs()
                elif held:
                    self._restart_finished()
                await asyncio.sleep(self._lease.total_seconds() / 3)
        finally:
            await self._stop_jobs()
            await asyncio.to_thread(self._release)

    async def _renew(self) -> bool:
        try:
            return await asyncio.to_thread(self._hold)
        except Exception as error:  # the database is away: nobody can be sure to hold it
            logger.error("could not renew the lease on %s (%s)", self._name, type(error).__name__)
            return False

    def _hold(self) -> bool:
        with self._session_factory.begin() as session:
            return hold(
                session, name=self._name, holder=self.holder, now=utc_now(), lease=self._lease
            )

    def _release(self) -> None:
        try:
            with self._session_factory.begin() as session:
                release(session, name=self._name, holder=self.holder)
        except Exception as error:  # it lapses by itself
            kind = type(error).__name__
            logger.warning("could not give up the lease on %s (%s)", self._name, kind)

    def _restart_finished(self) -> None:
        """A job is a loop that outlives its errors; one that ended anyway starts again."""
        for index, task in enumerate(self._running):
            if task.done():
                error = None if task.cancelled() else task.exception()
                # The kind only: a database error's text may quote a customer's details.
                kind = type(error).__name__ if error else "cancelled"
                logger.error("a job of %s ended (%s); starting it again", self._name, kind)
                self._running[index] = asyncio.create_task(self._jobs[index]())

    async def _stop_jobs(self) -> None:
        running, self._running = self._running, []
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
