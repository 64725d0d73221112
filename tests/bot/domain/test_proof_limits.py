"""The limits on ownership proofs: what a customer who mistypes and an attacker get."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.domain.proof_limits import (
    Attempt,
    ProofPolicy,
    client_refused_until,
    guesses_allowed,
    lock_length,
    order_locked_until,
)

POLICY = ProofPolicy()
T0 = datetime(2026, 12, 1, 9, 0)


def failures(count: int, *, start: datetime = T0, every: timedelta = timedelta(seconds=10)):
    return [Attempt(start + every * index, succeeded=False) for index in range(count)]


def test_a_customer_who_mistypes_twice_is_not_locked() -> None:
    assert order_locked_until(failures(2), POLICY, now=T0 + timedelta(minutes=1)) is None


def test_the_fifth_failure_in_a_row_locks_the_order_for_the_first_cooling_off() -> None:
    tried = failures(5)

    until = order_locked_until(tried, POLICY, now=T0 + timedelta(minutes=1))

    assert until == tried[-1].at + timedelta(minutes=15)
    assert order_locked_until(tried, POLICY, now=until) is None


def test_a_success_ends_the_run_of_failures() -> None:
    tried = [*failures(4), Attempt(T0 + timedelta(minutes=1), succeeded=True)]
    tried += failures(4, start=T0 + timedelta(minutes=2))

    assert order_locked_until(tried, POLICY, now=T0 + timedelta(minutes=3)) is None


def test_each_lock_doubles_up_to_the_longest() -> None:
    lengths = [lock_length(POLICY, locks) for locks in range(9)]

    assert lengths[:4] == [timedelta(minutes=15 * 2**k) for k in range(4)]
    assert lengths[-1] == POLICY.longest_lock
    assert lock_length(POLICY, 10_000) == POLICY.longest_lock


def test_the_second_lock_is_twice_as_long() -> None:
    first = failures(5)
    second = failures(5, start=T0 + timedelta(minutes=16))

    until = order_locked_until([*first, *second], POLICY, now=T0 + timedelta(minutes=17))

    assert until == second[-1].at + timedelta(minutes=30)


def test_attempts_inside_a_lock_are_not_counted_as_a_new_run() -> None:
    # Rows inside a lock only exist if a check raced the lock; they must not extend it.
    tried = [*failures(5), *failures(5, start=T0 + timedelta(minutes=5))]

    until = order_locked_until(tried, POLICY, now=T0 + timedelta(minutes=6))

    assert until == tried[4].at + timedelta(minutes=15)


def test_an_attacker_gets_nowhere_near_ten_thousand_guesses_in_a_day() -> None:
    """Trying as fast as the locks allow, around the clock, at one order."""
    assert guesses_allowed(POLICY, within=timedelta(days=1)) == 35
    assert guesses_allowed(POLICY, within=timedelta(days=7)) == 65
    # 4 digits: even a week of trying finds one order's digits with under 1% chance.
    assert guesses_allowed(POLICY, within=timedelta(days=7)) / 10_000 < 0.01


def test_a_client_walking_order_numbers_is_stopped_by_its_hourly_cap() -> None:
    hour_of_failures = [T0 + timedelta(minutes=minute) for minute in range(10)]

    until = client_refused_until(hour_of_failures, POLICY, now=T0 + timedelta(minutes=10))

    assert until == hour_of_failures[0] + timedelta(hours=1)
    assert (
        client_refused_until(hour_of_failures[:9], POLICY, now=T0 + timedelta(minutes=10)) is None
    )


def test_the_daily_cap_holds_when_the_client_spreads_its_failures() -> None:
    spread = [T0 + timedelta(minutes=40 * index) for index in range(30)]  # under 10 an hour
    now = spread[-1] + timedelta(minutes=1)

    until = client_refused_until(spread, POLICY, now=now)

    assert until == spread[0] + timedelta(days=1)


@pytest.mark.parametrize(
    "options",
    [
        {"failures_before_lock": 1},
        {"first_lock": timedelta(0)},
        {"first_lock": timedelta(hours=2), "longest_lock": timedelta(hours=1)},
        {"client_failures_per_hour": 0},
    ],
)
def test_a_policy_that_would_lock_out_real_customers_or_nobody_is_refused(options) -> None:
    with pytest.raises(ValueError):
        ProofPolicy(**options)
