"""Of several gateway instances on one database, exactly one runs the jobs that must run
once; a clean stop hands them over at once, a dead instance's lease lapses and another
takes over, and an instance that loses its lease stops its jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.single_instance import SingleInstanceJobs, instance_name
from bot.storage.job_leases import hold
from bot.storage.tables import utc_now
from tests.support.waiting import until

LEASE_SECONDS = 0.6


class Recorder:
    """A job as the gateway's are: a loop until cancelled; notes who runs it."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.ever: list[str] = []

    def job(self, holder: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def loop() -> None:
            self.running.add(holder)
            self.ever.append(holder)
            try:
                await asyncio.Event().wait()
            finally:
                self.running.discard(holder)

        return loop


def _instance(
    factory: sessionmaker[Session], recorder: Recorder, holder: str
) -> SingleInstanceJobs:
    return SingleInstanceJobs(
        session_factory=factory,
        name="gateway-jobs",
        jobs=[recorder.job(holder)],
        lease_seconds=LEASE_SECONDS,
        holder=holder,
    )


async def test_one_instance_runs_the_jobs_and_a_clean_stop_hands_them_over(
    session_factory: sessionmaker[Session],
) -> None:
    recorder = Recorder()
    a = asyncio.create_task(_instance(session_factory, recorder, "a:8001").run_forever())
    await until(lambda: recorder.running == {"a:8001"})
    b = asyncio.create_task(_instance(session_factory, recorder, "b:8002").run_forever())
    await asyncio.sleep(4 * LEASE_SECONDS)  # several renewals by both
    assert recorder.running == {"a:8001"}

    a.cancel()
    await asyncio.wait([a])
    await until(lambda: recorder.running == {"b:8002"})
    b.cancel()
    await asyncio.wait([b])

    assert recorder.ever == ["a:8001", "b:8002"]
    assert recorder.running == set()


async def test_a_dead_instances_lease_lapses_and_another_takes_over(
    session_factory: sessionmaker[Session],
) -> None:
    # An instance that died holding the lease: it never renews it, never gives it up.
    with session_factory.begin() as session:
        lease = timedelta(seconds=2 * LEASE_SECONDS)
        assert hold(session, name="gateway-jobs", holder="dead:8001", now=utc_now(), lease=lease)
    recorder = Recorder()
    b = asyncio.create_task(_instance(session_factory, recorder, "b:8002").run_forever())
    await asyncio.sleep(LEASE_SECONDS)
    assert recorder.running == set()  # still the dead one's

    await until(lambda: recorder.running == {"b:8002"})
    b.cancel()
    await asyncio.wait([b])


async def test_an_instance_that_loses_its_lease_stops_its_jobs(
    session_factory: sessionmaker[Session],
) -> None:
    recorder = Recorder()
    a = asyncio.create_task(_instance(session_factory, recorder, "a:8001").run_forever())
    await until(lambda: recorder.running == {"a:8001"})
    # Another instance holds it now (a's renewals were late, its clock jumped...).
    with session_factory.begin() as session:
        later = utc_now() + timedelta(seconds=LEASE_SECONDS * 2)
        hold(session, name="gateway-jobs", holder="c:8003", now=later, lease=timedelta(seconds=60))

    await until(lambda: recorder.running == set())
    a.cancel()
    await asyncio.wait([a])


def test_a_gateway_restarted_on_its_port_is_the_same_holder() -> None:
    assert instance_name(8000) == instance_name(8000)
    assert instance_name(8000) != instance_name(8001)


async def test_a_job_that_ends_is_started_again_and_logged_without_details(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    starts: list[int] = []

    async def flaky() -> None:
        starts.append(len(starts))
        if len(starts) == 1:
            raise RuntimeError("could not store 'ana.lopez@example.com', 138-0000-1234")
        await asyncio.Event().wait()

    jobs = SingleInstanceJobs(
        session_factory=session_factory,
        name="gateway-jobs",
        jobs=[flaky],
        lease_seconds=LEASE_SECONDS,
        holder="a:8001",
    )
    task = asyncio.create_task(jobs.run_forever())
    await until(lambda: len(starts) == 2)
    task.cancel()
    await asyncio.wait([task])

    assert "ended (RuntimeError); starting it again" in caplog.text
    assert "example.com" not in caplog.text and "1234" not in caplog.text
