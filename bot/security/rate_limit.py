"""Sliding-window limits per client: how often someone may do a thing, in memory.

Each key keeps the times of its last `limit` events, so the answer is exact (no
fixed-window burst at the boundary) and `retry_after` is the honest time until
one more is allowed. Memory is bounded: past `max_keys` the least recently used
key is forgotten, which can only ever give that one client a fresh budget.

The limits live in one gateway process; several gateways each count their own
(docs/security.md says what that means for the figures).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # Seconds until one more event is allowed; 0 when it is allowed now.
    retry_after: float

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, rounded up, as HTTP's Retry-After wants them."""
        return str(max(1, math.ceil(self.retry_after)))


ALLOWED = Verdict(True, 0.0)


class SlidingWindowLimiter:
    """At most `limit` events per key in any `window_seconds`; thread-safe, since
    synchronous routes run in worker threads."""

    def __init__(
        self,
        *,
        limit: int,
        window_seconds: float,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_seconds <= 0 or max_keys < 1:
            raise ValueError("limit and max_keys must be at least 1, the window positive")
        self.limit = limit
        self.window_seconds = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        while events and events[0] <= now - self.window_seconds:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def _verdict(self, events: deque[float] | None, now: float) -> Verdict:
        if events is None or len(events) < self.limit:
            return ALLOWED
        return Verdict(False, events[0] + self.window_seconds - now)

    def peek(self, key: str) -> Verdict:
        """Whether one more event would be allowed now, without counting one."""
        with self._lock:
            now = self._clock()
            return self._verdict(self._recent(key, now), now)

    def hit(self, key: str) -> Verdict:
        """Counts the event if it is allowed; a refused event is not counted, so a client
        that keeps trying is refused only until its window has room again."""
        with self._lock:
            now = self._clock()
            verdict = self._verdict(self._recent(key, now), now)
            if verdict.allowed:
                self._add(key, now)
            return verdict

    def record(self, key: str) -> None:
        """Counts an event that has already happened (a failed login, say)."""
        with self._lock:
            now = self._clock()
            self._recent(key, now)
            self._add(key, now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def _add(self, key: str, now: float) -> None:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque(maxlen=self.limit)
            while len(self._events) > self._max_keys:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        events.append(now)
