"""The console sign-in throttle's policy, on a clock the test moves."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.security.login_throttle import (
    HashingBusy,
    KnownClients,
    LoginThrottle,
    TooManyFailures,
)
from bot.security.rate_limit import SlidingWindowLimiter

A, B = "ip:203.0.113.9", "ip:198.51.100.4"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Passwords:
    """Stands in for the Argon2 check: counts how often it ran."""

    def __init__(self) -> None:
        self.checked = 0

    def check(self, good: bool) -> str | None:
        self.checked += 1
        return "session" if good else None


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _throttle(
    clock: Clock, *, hash_slots: int = 2, hash_wait_seconds: float = 2.0
) -> LoginThrottle:
    return LoginThrottle(
        per_name_and_client=SlidingWindowLimiter(limit=5, window_seconds=900, clock=clock),
        per_client=SlidingWindowLimiter(limit=20, window_seconds=900, clock=clock),
        per_name=SlidingWindowLimiter(limit=10, window_seconds=300, clock=clock),
        known_clients=KnownClients(ttl_seconds=30 * 86_400, clock=clock),
        hash_slots=hash_slots,
        hash_wait_seconds=hash_wait_seconds,
    )


async def _try(
    throttle: LoginThrottle, passwords: Passwords, name: str, client: str, *, good: bool = False
) -> str | None:
    return await throttle.attempt(username=name, client=client, check=lambda: passwords.check(good))


async def test_after_five_failures_for_a_name_that_client_is_refused_without_a_check(
    clock: Clock,
) -> None:
    throttle, passwords = _throttle(clock), Passwords()
    for _ in range(5):
        assert await _try(throttle, passwords, "mei", A) is None
        clock.now += 10

    with pytest.raises(TooManyFailures) as refused:
        await _try(throttle, passwords, "mei", A, good=True)

    assert passwords.checked == 5  # the sixth try cost no hash
    assert refused.value.status_code == 429
    assert refused.value.retry_after_header == "850"  # the first failure leaves the window
    assert refused.value.detail == "too many failed sign-ins; try again in 850 s"
    clock.now += 850
    assert await _try(throttle, passwords, "mei", A, good=True) == "session"


async def test_an_unknown_name_is_refused_in_the_same_words(clock: Clock) -> None:
    throttle, passwords = _throttle(clock), Passwords()
    refusals = []
    for name in ("mei", "nobody"):
        for _ in range(5):
            await _try(throttle, passwords, name, A)
        with pytest.raises(TooManyFailures) as refused:
            await _try(throttle, passwords, name, A)
        refusals.append((refused.value.status_code, refused.value.detail))

    assert refusals[0] == refusals[1]


async def test_one_clients_failures_do_not_lock_the_agent_out_elsewhere(clock: Clock) -> None:
    throttle, passwords = _throttle(clock), Passwords()
    for _ in range(5):
        await _try(throttle, passwords, "mei", A)
    with pytest.raises(TooManyFailures):
        await _try(throttle, passwords, "mei", A)

    assert await _try(throttle, passwords, "mei", B, good=True) == "session"


async def test_a_name_casing_does_not_give_a_fresh_budget(clock: Clock) -> None:
    throttle, passwords = _throttle(clock), Passwords()
    for name in ("mei", "MEI", " Mei", "mEi", "meI"):
        await _try(throttle, passwords, name, A)

    with pytest.raises(TooManyFailures):
        await _try(throttle, passwords, "Mei", A)


async def test_one_client_trying_many_names_is_stopped(clock: Clock) -> None:
    throttle, passwords = _throttle(clock), Passwords()
    for number in range(20):
        await _try(throttle, passwords, f"agent{number}", A)

    with pytest.raises(TooManyFailures):
        await _try(throttle, passwords, "agent99", A)
    assert await _try(throttle, passwords, "agent99", B) is None  # another client: checked


async def test_many_clients_guessing_one_name_lock_it_briefly_except_where_it_signed_in(
    clock: Clock,
) -> None:
    throttle, passwords = _throttle(clock), Passwords()
    assert await _try(throttle, passwords, "mei", B, good=True) == "session"  # her desk
    for number in range(10):
        await _try(throttle, passwords, "mei", f"ip:192.0.2.{number}")

    with pytest.raises(TooManyFailures) as refused:
        await _try(throttle, passwords, "mei", "ip:192.0.2.77", good=True)
    at_her_desk = await _try(throttle, passwords, "mei", B, good=True)
    assert int(refused.value.retry_after_header) <= 300  # minutes, not hours
    clock.now += 300
    elsewhere_later = await _try(throttle, passwords, "mei", "ip:192.0.2.77", good=True)

    assert at_her_desk == "session"
    assert elsewhere_later == "session"


async def test_a_success_clears_that_names_failures_on_that_client(clock: Clock) -> None:
    throttle, passwords = _throttle(clock), Passwords()
    for _ in range(4):
        await _try(throttle, passwords, "mei", A)
    assert await _try(throttle, passwords, "mei", A, good=True) == "session"

    for _ in range(4):
        assert await _try(throttle, passwords, "mei", A) is None
    assert await _try(throttle, passwords, "mei", A, good=True) == "session"
    assert passwords.checked == 10


async def test_only_so_many_hashes_run_at_once_and_the_rest_are_told_to_come_back(
    clock: Clock,
) -> None:
    throttle = _throttle(clock, hash_slots=1, hash_wait_seconds=0.05)
    started, release = threading.Event(), threading.Event()

    def slow_check() -> str | None:
        started.set()
        release.wait()
        return None

    first = asyncio.create_task(throttle.attempt(username="mei", client=A, check=slow_check))
    await asyncio.to_thread(started.wait)
    with pytest.raises(HashingBusy) as busy:
        await throttle.attempt(username="li", client=B, check=lambda: "session")
    release.set()
    await first
    after = await throttle.attempt(username="li", client=B, check=lambda: "session")

    assert (busy.value.status_code, busy.value.retry_after_header) == (503, "1")
    assert after == "session"


async def test_sign_ins_queued_behind_a_hash_are_counted_again_before_their_own(
    clock: Clock,
) -> None:
    throttle = LoginThrottle(
        per_name_and_client=SlidingWindowLimiter(limit=1, window_seconds=900, clock=clock),
        per_client=SlidingWindowLimiter(limit=20, window_seconds=900, clock=clock),
        per_name=SlidingWindowLimiter(limit=10, window_seconds=300, clock=clock),
        known_clients=KnownClients(ttl_seconds=86_400, clock=clock),
        hash_slots=1,
        hash_wait_seconds=60,
    )
    started, release = threading.Event(), threading.Event()
    passwords = Passwords()

    def slow_check() -> str | None:
        started.set()
        release.wait()
        return passwords.check(False)

    first = asyncio.create_task(throttle.attempt(username="mei", client=A, check=slow_check))
    await asyncio.to_thread(started.wait)
    queued = asyncio.create_task(
        throttle.attempt(username="mei", client=A, check=lambda: passwords.check(True))
    )
    await asyncio.sleep(0)  # it passed the first look and waits for the slot
    release.set()

    assert await first is None
    with pytest.raises(TooManyFailures):
        await queued
    assert passwords.checked == 1


def test_known_clients_are_forgotten_after_their_time(clock: Clock) -> None:
    known = KnownClients(ttl_seconds=60, clock=clock)
    known.remember("ip:203.0.113.9|mei")
    clock.now += 59
    remembered = known.knows("ip:203.0.113.9|mei")
    clock.now += 1

    assert remembered
    assert not known.knows("ip:203.0.113.9|mei")
    assert not KnownClients(ttl_seconds=0, clock=clock).knows("ip:203.0.113.9|mei")
