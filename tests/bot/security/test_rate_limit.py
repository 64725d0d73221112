"""The sliding-window limiter, on a clock the test moves."""

from __future__ import annotations

import pytest

from bot.security.rate_limit import SlidingWindowLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_limit_holds_within_any_window_and_says_how_long_to_wait(clock: Clock) -> None:
    limiter = SlidingWindowLimiter(limit=3, window_seconds=60, clock=clock)
    for _ in range(3):
        assert limiter.hit("ip:203.0.113.7").allowed
        clock.now += 10

    refused = limiter.hit("ip:203.0.113.7")

    assert not refused.allowed
    assert refused.retry_after == pytest.approx(30.0)  # the first hit leaves the window then
    assert refused.retry_after_header == "30"


def test_the_window_slides_rather_than_resetting_at_a_boundary(clock: Clock) -> None:
    limiter = SlidingWindowLimiter(limit=2, window_seconds=60, clock=clock)
    limiter.hit("k")
    clock.now += 59
    limiter.hit("k")
    clock.now += 2  # the first has left; the second is still in

    assert limiter.hit("k").allowed
    assert not limiter.hit("k").allowed


def test_refused_events_are_not_counted(clock: Clock) -> None:
    limiter = SlidingWindowLimiter(limit=1, window_seconds=10, clock=clock)
    limiter.hit("k")
    for _ in range(100):
        limiter.hit("k")  # hammering while refused
    clock.now += 10.5

    assert limiter.hit("k").allowed


def test_clients_are_counted_apart(clock: Clock) -> None:
    limiter = SlidingWindowLimiter(limit=1, window_seconds=10, clock=clock)
    limiter.hit("ip:203.0.113.7")

    assert limiter.hit("ip:203.0.113.8").allowed
    assert not limiter.peek("ip:203.0.113.7").allowed


def test_record_counts_what_happened_and_reset_forgets_it(clock: Clock) -> None:
    limiter = SlidingWindowLimiter(limit=2, window_seconds=10, clock=clock)
    limiter.record("k")
    limiter.record("k")
    limiter.record("k")

    assert not limiter.peek("k").allowed
    limiter.reset("k")
    assert limiter.peek("k").allowed


def test_memory_is_bounded_by_forgetting_the_least_recent_client(clock: Clock) -> None:
    limiter = SlidingWindowLimiter(limit=1, window_seconds=60, max_keys=2, clock=clock)
    limiter.hit("a")
    limiter.hit("b")
    limiter.hit("a")  # refused: not counted, so "a" stays the least recently counted
    limiter.hit("c")  # a third client: "a" is forgotten

    assert limiter.peek("a").allowed
    assert not limiter.peek("b").allowed
    assert not limiter.peek("c").allowed


def test_a_limit_that_allows_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(limit=0, window_seconds=10)
