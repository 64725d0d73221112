"""A job lease is held by one instance at a time, renewed by it, taken over once it
lapses, and given up at once on a clean stop (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.storage.job_leases import hold, release
from bot.storage.tables import JobLease, utc_now

LEASE = timedelta(seconds=10)


def _hold(factory: sessionmaker[Session], holder: str, *, after: float = 0) -> bool:
    with factory.begin() as session:
        now = utc_now() + timedelta(seconds=after)
        return hold(session, name="gateway-jobs", holder=holder, now=now, lease=LEASE)


def _holder(factory: sessionmaker[Session], *, after: float = 0) -> str | None:
    """Who holds the lease `after` seconds from now, as its row says."""
    with factory() as session:
        lease = session.get(JobLease, "gateway-jobs")
        if lease is None or lease.expires_at <= utc_now() + timedelta(seconds=after):
            return None
        return lease.holder


def test_one_holder_at_a_time_until_its_lease_lapses(
    session_factory: sessionmaker[Session],
) -> None:
    assert _hold(session_factory, "a:8001") is True
    assert _hold(session_factory, "b:8002") is False
    assert _hold(session_factory, "a:8001", after=5) is True  # renewed until 15 s from now
    assert _hold(session_factory, "b:8002", after=12) is False
    assert _holder(session_factory, after=12) == "a:8001"

    # Nobody renewed it for a whole lease: the other instance takes over.
    assert _hold(session_factory, "b:8002", after=16) is True
    assert _hold(session_factory, "a:8001", after=17) is False
    assert _holder(session_factory, after=17) == "b:8002"


def test_a_clean_stop_gives_the_lease_up_at_once_and_only_the_holders(
    session_factory: sessionmaker[Session],
) -> None:
    assert _hold(session_factory, "a:8001") is True
    with session_factory.begin() as session:
        release(session, name="gateway-jobs", holder="b:8002")  # not b's to give
    assert _hold(session_factory, "b:8002") is False

    with session_factory.begin() as session:
        release(session, name="gateway-jobs", holder="a:8001")
    assert _holder(session_factory) is None
    assert _hold(session_factory, "b:8002") is True
