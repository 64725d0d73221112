"""How many console sign-ins the gateway checks, and how many password hashes at once.

Every check costs an Argon2 hash (64 MiB and a noticeable slice of a core), so a
sign-in is refused before any hash once its failures are used up, and only a few
hashes run at a time, in threads of their own, so sign-ins cannot starve the
gateway's other work.

Failures count in three sliding windows:

- per agent name and client, strictly: one client guessing one agent's password;
- per client across names: one client trying a common password on many names;
- per name across clients, loosely and briefly: guessing from many addresses. This
  is the only count that someone elsewhere can fill for an agent, so its lock lasts
  minutes, and a client where that agent signed in recently is exempt from it: the
  attacker's failures lock out the attacker, not the agent at their usual desk.

A refusal reads the same whether or not the name exists, and for every window.
Like `SlidingWindowLimiter`, the counts live in one gateway process.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from bot.security.rate_limit import ALLOWED, SlidingWindowLimiter, Verdict
from bot.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")


class LoginRefused(Exception):
    """A sign-in the gateway will not check now: the route answers with `status_code`,
    `detail` and `Retry-After`."""

    status_code: int

    def __init__(self, detail: str, retry_after_header: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_header = retry_after_header


class TooManyFailures(LoginRefused):
    status_code = 429


class HashingBusy(LoginRefused):
    status_code = 503


def too_many_failures(retry_after: str) -> str:
    return f"too many failed sign-ins; try again in {retry_after} s"


BUSY = "the server is busy checking other sign-ins; try again in a moment"


class KnownClients:
    """(name, client) pairs that signed in successfully within `ttl_seconds`.

    Bounded like the limiters: past `max_pairs` the oldest success is forgotten, which
    only ever subjects that client to the per-name window again.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_pairs: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_pairs = max_pairs
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, key: str) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._seen[key] = self._clock()
            self._seen.move_to_end(key)
            while len(self._seen) > self._max_pairs:
                self._seen.popitem(last=False)

    def knows(self, key: str) -> bool:
        with self._lock:
            seen = self._seen.get(key)
            if seen is None:
                return False
            if self._clock() - seen >= self._ttl:
                del self._seen[key]
                return False
            return True


class LoginThrottle:
    def __init__(
        self,
        *,
        per_name_and_client: SlidingWindowLimiter,
        per_client: SlidingWindowLimiter,
        per_name: SlidingWindowLimiter,
        known_clients: KnownClients,
        hash_slots: int,
        hash_wait_seconds: float,
    ) -> None:
        self._pairs = per_name_and_client
        self._clients = per_client
        self._names = per_name
        self._known = known_clients
        self._hash_slots = asyncio.Semaphore(hash_slots)
        self._hash_wait_seconds = hash_wait_seconds
        self._hashing: set[asyncio.Task[object]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(
            per_name_and_client=SlidingWindowLimiter(
                limit=settings.login_failures_per_name_and_client,
                window_seconds=settings.login_name_and_client_window_seconds,
            ),
            per_client=SlidingWindowLimiter(
                limit=settings.login_failures_per_client,
                window_seconds=settings.login_client_window_seconds,
            ),
            per_name=SlidingWindowLimiter(
                limit=settings.login_failures_per_name,
                window_seconds=settings.login_name_window_seconds,
            ),
            known_clients=KnownClients(ttl_seconds=settings.login_known_client_days * 86_400),
            hash_slots=settings.login_hash_slots,
            hash_wait_seconds=settings.login_hash_wait_seconds,
        )

    async def attempt(
        self, *, username: str, client: str, check: Callable[[], T | None]
    ) -> T | None:
        """Runs `check` (the password check; None when it fails) if the failures so far
        allow it, counting a failure or clearing this name's failures on this client.

        Raises `TooManyFailures` or `HashingBusy` without running it. The windows are read
        again once a hash slot is free, and the outcome is counted before the slot is
        given up, so sign-ins that queued together cannot all slip past a limit.
        """
        name = _name_key(username)
        self._refuse_if_locked(name, client)
        return await self._in_hash_slot(lambda: self._checked(name, client, check))

    def _verdict(self, name: str, client: str) -> Verdict:
        pair = _pair_key(name, client)
        verdicts = [self._pairs.peek(pair), self._clients.peek(client)]
        if not self._known.knows(pair):
            verdicts.append(self._names.peek(name))
        refused = [verdict for verdict in verdicts if not verdict.allowed]
        return max(refused, key=lambda verdict: verdict.retry_after) if refused else ALLOWED

    def _refuse_if_locked(self, name: str, client: str) -> None:
        verdict = self._verdict(name, client)
        if not verdict.allowed:
            logger.info("console sign-in refused: too many failures")
            retry_after = verdict.retry_after_header
            raise TooManyFailures(too_many_failures(retry_after), retry_after)

    def _checked(self, name: str, client: str, check: Callable[[], T | None]) -> T | None:
        self._refuse_if_locked(name, client)
        result = check()
        pair = _pair_key(name, client)
        if result is None:
            self._pairs.record(pair)
            self._clients.record(client)
            self._names.record(name)
        else:
            self._pairs.reset(pair)
            self._known.remember(pair)
        return result

    async def _in_hash_slot(self, work: Callable[[], T]) -> T:
        """The slot is held until the thread ends, even if the request is cancelled while
        it runs: abandoned hashes would otherwise run beyond the bound."""
        try:
            async with asyncio.timeout(self._hash_wait_seconds):
                await self._hash_slots.acquire()
        except TimeoutError:
            logger.warning("console sign-in refused: every password-hash slot is busy")
            raise HashingBusy(BUSY, str(max(1, math.ceil(self._hash_wait_seconds)))) from None
        running = asyncio.create_task(asyncio.to_thread(work))
        self._hashing.add(running)
        running.add_done_callback(self._hash_done)
        return await asyncio.shield(running)

    def _hash_done(self, task: asyncio.Task[object]) -> None:
        self._hashing.discard(task)
        self._hash_slots.release()
        if not task.cancelled() and task.exception() is not None:
            # Seen here, in case the request that waited for it was cancelled meanwhile.
            logger.debug("a console sign-in check failed: %s", type(task.exception()).__name__)


def _name_key(username: str) -> str:
    return username.strip().casefold()


def _pair_key(name: str, client: str) -> str:
    # Client keys ("ip:...", "tg:...") hold no "|", so the pair cannot be ambiguous.
    return f"{client}|{name}"
