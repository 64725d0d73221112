"""The proof guard on real SQLite and PostgreSQL: counted across conversations, serialised
per order, so parallel guesses cannot slip past the count."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.proof_limits import ProofPolicy
from bot.security.proof_guard import ProofGuard, ProofRefusal, ProofTicket
from bot.storage.tables import ProofAttempt


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(session_factory: sessionmaker[Session], clock: Clock) -> ProofGuard:
    return ProofGuard(session_factory, ProofPolicy(), clock=clock)


async def _fail(guard: ProofGuard, order: str, client: str, conversation: str) -> ProofTicket:
    ticket = await guard.begin(order_number=order, client_key=client, conversation_id=conversation)
    assert isinstance(ticket, ProofTicket)
    return ticket  # left as a failure, as a wrong proof leaves it


async def test_failures_in_five_conversations_lock_the_order_for_every_proof(
    guard: ProofGuard, clock: Clock
) -> None:
    for index in range(5):
        await _fail(guard, "100245", f"ip:198.51.100.{index}", f"conversation-{index}")
        clock.now += timedelta(seconds=5)

    refused = await guard.begin(
        order_number="100245", client_key="ip:203.0.113.50", conversation_id="fresh"
    )

    assert isinstance(refused, ProofRefusal) and refused.scope == "order"
    assert refused.until == clock.now - timedelta(seconds=5) + timedelta(minutes=15)
    assert refused.minutes_left(clock.now) == 15
    clock.now = refused.until
    assert isinstance(
        await guard.begin(order_number="100245", client_key="ip:203.0.113.50", conversation_id="x"),
        ProofTicket,
    )


async def test_a_customer_who_mistypes_twice_gets_in_and_the_run_starts_over(
    guard: ProofGuard, session_factory: sessionmaker[Session]
) -> None:
    for _ in range(2):
        await _fail(guard, "100245", "ip:203.0.113.9", "c")
    ticket = await _fail(guard, "100245", "ip:203.0.113.9", "c")
    await guard.succeeded(ticket)
    for _ in range(4):
        await _fail(guard, "100245", "ip:203.0.113.9", "c")

    assert isinstance(
        await guard.begin(order_number="100245", client_key="ip:203.0.113.9", conversation_id="c"),
        ProofTicket,
    )
    with session_factory() as session:
        rows = session.scalars(sa.select(ProofAttempt.succeeded).order_by(ProofAttempt.id)).all()
    assert rows == [False, False, True, False, False, False, False, False]


async def test_a_check_that_never_happened_costs_no_try(
    guard: ProofGuard, session_factory: sessionmaker[Session]
) -> None:
    ticket = await _fail(guard, "100245", "ip:203.0.113.9", "c")

    await guard.void(ticket)

    with session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ProofAttempt)) == 0


async def test_one_client_walking_order_numbers_is_stopped(guard: ProofGuard, clock: Clock) -> None:
    for number in range(100100, 100110):
        await _fail(guard, str(number), "ip:203.0.113.66", "walker")
        clock.now += timedelta(seconds=1)

    refused = await guard.begin(
        order_number="100200", client_key="ip:203.0.113.66", conversation_id="walker"
    )
    other = await guard.begin(
        order_number="100200", client_key="ip:198.51.100.1", conversation_id="someone"
    )

    assert isinstance(refused, ProofRefusal) and refused.scope == "client"
    assert isinstance(other, ProofTicket)


def test_parallel_guesses_at_one_order_are_all_counted_before_they_are_tried(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    """Twenty conversations guess at the same moment: only five get to try."""
    guard = ProofGuard(session_factory, ProofPolicy(), clock=clock)
    start = threading.Barrier(20)
    results: list[ProofTicket | ProofRefusal] = []

    def guess(index: int) -> None:
        start.wait()
        results.append(
            asyncio.run(
                guard.begin(
                    order_number="100245",
                    client_key=f"ip:198.51.100.{index}",
                    conversation_id=f"c{index}",
                )
            )
        )

    threads = [threading.Thread(target=guess, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(isinstance(result, ProofTicket) for result in results) == 5
    assert sum(isinstance(result, ProofRefusal) for result in results) == 15
