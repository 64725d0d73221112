"""How many ownership proofs may be tried, per order and per client, across conversations.

A phone's last four digits have 10,000 values, so the proof is only as strong as
the limit on guesses. A per-conversation limit alone is worthless (conversations
are free), so failures are counted by order number, whoever tries and wherever:
every `failures_before_lock` failures in a row lock the order for a cooling-off
that doubles with each lock, up to `longest_lock`. The lock holds for every
proof, right or wrong, and for numbers of orders that do not exist alike, so it
tells an attacker nothing. A customer who mistypes a few times still gets in.

Per client (an address, a Telegram user), failures across all orders are capped
per hour and per day, which stops one client walking order numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ProofPolicy:
    failures_before_lock: int = 5
    first_lock: timedelta = timedelta(minutes=15)
    longest_lock: timedelta = timedelta(hours=24)
    # How long past attempts count: locks escalate within it.
    memory: timedelta = timedelta(days=7)
    client_failures_per_hour: int = 10
    client_failures_per_day: int = 30

    def __post_init__(self) -> None:
        if self.failures_before_lock < 2:
            raise ValueError("allow at least two tries before a lock: people mistype")
        if self.first_lock <= timedelta(0) or self.longest_lock < self.first_lock:
            raise ValueError("locks must be positive, the longest no shorter than the first")
        if self.client_failures_per_hour < 1 or self.client_failures_per_day < 1:
            raise ValueError("a client must be allowed at least one failure")


@dataclass(frozen=True)
class Attempt:
    at: datetime
    succeeded: bool


def lock_length(policy: ProofPolicy, locks_before: int) -> timedelta:
    """The cooling-off of the order's next lock: doubled per earlier lock, capped."""
    doublings = min(locks_before, 32)  # 2**32 cooling-offs are far past any cap
    longer: timedelta = policy.first_lock * (1 << doublings)
    return min(longer, policy.longest_lock)


def order_locked_until(
    attempts: Iterable[Attempt], policy: ProofPolicy, *, now: datetime
) -> datetime | None:
    """When the order's lock ends, or None if proofs may be tried now.

    Replays the attempts in time order: a success ends a run of failures, and a
    run of `failures_before_lock` starts a lock. Attempts inside a lock are not
    expected (they are refused before they are tried), and are passed over.
    """
    locks = 0
    run = 0
    locked_until: datetime | None = None
    for attempt in sorted(attempts, key=lambda a: a.at):
        if locked_until is not None and attempt.at < locked_until:
            continue
        if attempt.succeeded:
            run = 0
            continue
        run += 1
        if run >= policy.failures_before_lock:
            locked_until = attempt.at + lock_length(policy, locks)
            locks += 1
            run = 0
    return locked_until if locked_until is not None and locked_until > now else None


def client_refused_until(
    failures: Sequence[datetime], policy: ProofPolicy, *, now: datetime
) -> datetime | None:
    """When the client may try again, or None: its failures over the last hour and day
    are below their caps. The windows slide, so the wait ends when the oldest failure
    that fills a cap leaves its window."""
    ordered = sorted(failures)
    until: datetime | None = None
    for cap, window in (
        (policy.client_failures_per_hour, timedelta(hours=1)),
        (policy.client_failures_per_day, timedelta(days=1)),
    ):
        recent = [moment for moment in ordered if moment > now - window]
        if len(recent) >= cap:
            ends = recent[-cap] + window
            until = ends if until is None else max(until, ends)
    return until


def guesses_allowed(policy: ProofPolicy, *, within: timedelta) -> int:
    """The most wrong proofs one order can take within `within`, trying as fast as the
    locks allow: the figure that bounds a brute-force attack on an order."""
    attempts: list[Attempt] = []
    start = datetime(2000, 1, 1)
    moment = start
    while moment < start + within:
        until = order_locked_until(attempts, policy, now=moment)
        if until is not None:
            moment = until
            continue
        attempts.append(Attempt(moment, succeeded=False))
        moment += timedelta(seconds=1)
    return len(attempts)
