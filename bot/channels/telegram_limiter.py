"""One pace for everything the gateway sends to Telegram: replies, queue updates, notices.

Telegram allows a bot about 30 messages a second in all and one a second per chat, and
answers 429 with a `retry_after` beyond that. Separate limiters per sender would each
stay under the limit and together go over it, so every send asks this one for a slot.

- Slots are spaced (1/rate apart, plus `HEADROOM`), and no more than the rate's worth
  are in flight or finished within the last second. Telegram counts messages when they
  arrive, which is some time between the grant and the answer: spacing alone assumes
  the time on the way is steady, and a stalled event loop (a send granted, then held up
  while the next ones go out) once made 26 arrive in one second. Counting a message
  until a second after its answer holds whatever the time on the way.
- Per chat, one message a second on average. Telegram tolerates short bursts in a chat,
  and a customer's answer often comes as two or three messages (a long text in pieces,
  several replies to one question): paced a second apart, they would trickle in and
  the conversation would feel slow. So a reply may use a small burst (`chat_burst`, a
  token bucket refilled at the chat's rate); a notice never does: it waits until its
  chat's last message, of any kind, was answered a full interval ago.
- Who waits is served by priority (a customer's reply before a notice), then in the
  order they asked; a waiter whose chat must still wait does not hold up other chats.
- A 429 pauses its chat for `retry_after`; 429s from two chats at once mean the bot as a
  whole is over its limit (a flood wait), which pauses every chat.

The limits hold per gateway process: N gateways with one bot token should share the
rate (`SHOPDESK_TELEGRAM_MESSAGES_PER_SECOND` = 25 / N).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import IntEnum

# Each slot is this much longer than the rate alone would make it (see the docstring):
# 26 sends then span 1.1 s, which absorbs ordinary jitter on the way without the window
# below having to hold anything back. Costs 9% of the rate (22.7 of 25 a second).
HEADROOM = 0.10
# Telegram's limit is per second: at most the rate's worth of sends are in flight or
# answered within this long, which holds however unevenly they travel.
WINDOW_SECONDS = 1.0
# Per-chat bookkeeping is trimmed of chats that could send now, past this many.
_CHATS_KEPT = 4096
_PAUSE_CHECKS = 10

ChatKey = str


class Priority(IntEnum):
    """Lower goes first."""

    REPLY = 0  # a customer is waiting for it
    BULK = 1  # incident notices: nobody is waiting on this very message


@dataclass
class _Chat:
    tokens: float  # messages the chat may still have at once, as of `at`
    at: float
    last: float  # the latest grant to the chat, or the latest answer once it came
    paused_until: float = 0.0
    sending: int = 0  # granted and not yet answered


@dataclass(eq=False)
class _Waiter:
    priority: Priority
    order: int
    chat: ChatKey | None
    granted: asyncio.Future[None] = field(repr=False)


class TelegramLimiter:
    """Async and shared by every task of one event loop; see the module docstring."""

    def __init__(
        self,
        *,
        messages_per_second: float,
        chat_messages_per_second: float,
        chat_burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if messages_per_second <= 0 or chat_messages_per_second <= 0 or chat_burst < 1:
            raise ValueError("rates must be positive and the burst at least 1")
        self.interval = (1 + HEADROOM) / messages_per_second
        self.chat_interval = (1 + HEADROOM) / chat_messages_per_second
        self.chat_burst = chat_burst
        self.per_window = max(1, math.floor(messages_per_second * WINDOW_SECONDS))
        self._clock = clock
        self._in_flight = 0
        self._answered: deque[float] = deque()  # when the sends of the last window ended
        self._next_slot = 0.0  # the earliest time of the next grant, any chat
        self._paused_until = 0.0  # a flood wait: every chat
        self._chats: dict[ChatKey, _Chat] = {}
        self._waiters: list[_Waiter] = []
        self._orders = itertools.count()
        self._changed: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None

    # --- asking for a slot ---

    @contextlib.asynccontextmanager
    async def slot(
        self, chat: ChatKey | None, *, priority: Priority = Priority.REPLY
    ) -> AsyncIterator[None]:
        """Entered when one message to `chat` (None: no chat of its own) may go now; the
        send happens inside, and leaving marks it answered (or failed: it may still have
        arrived, so it counts the same)."""
        await self._acquire(chat, priority)
        try:
            yield
        finally:
            self._answered_now(chat)

    async def _acquire(self, chat: ChatKey | None, priority: Priority) -> None:
        loop = asyncio.get_running_loop()
        waiter = _Waiter(priority, next(self._orders), chat, loop.create_future())
        self._waiters.append(waiter)
        self._wake()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = loop.create_task(self._dispatch())
        try:
            await waiter.granted
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            self._wake()
            raise

    async def wait_unpaused(self, chat: ChatKey | None) -> None:
        """For calls that are no message (an answered button, an edit): no slot, but not
        during a pause either, which Telegram would only extend."""
        for _ in range(_PAUSE_CHECKS):  # a pause may be extended while this waits
            delay = self._pause_of(chat) - self._clock()
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    # --- what Telegram said ---

    def rate_limited(self, chat: ChatKey | None, retry_after: float) -> None:
        """A 429: pauses the chat, or every chat when it is a flood wait."""
        now = self._clock()
        until = now + max(0.0, retry_after)
        others_paused = any(
            state.paused_until > now for key, state in self._chats.items() if key != chat
        )
        if chat is None or others_paused:
            self._paused_until = max(self._paused_until, until)
        if chat is not None:
            state = self._chat(chat, now)
            state.paused_until = max(state.paused_until, until)
        self._wake()

    def paused_for(self, chat: ChatKey | None) -> float:
        """Seconds until `chat` may be sent to again after a 429 (0: not paused)."""
        return max(0.0, self._pause_of(chat) - self._clock())

    # --- the dispatcher ---

    def _pause_of(self, chat: ChatKey | None) -> float:
        state = self._chats.get(chat) if chat is not None else None
        return max(self._paused_until, state.paused_until if state is not None else 0.0)

    def _chat(self, chat: ChatKey, now: float) -> _Chat:
        state = self._chats.get(chat)
        if state is None:
            state = self._chats[chat] = _Chat(float(self.chat_burst), now, -math.inf)
        return state

    def _tokens(self, state: _Chat, now: float) -> float:
        return min(float(self.chat_burst), state.tokens + (now - state.at) / self.chat_interval)

    def _ready_at(self, waiter: _Waiter, now: float) -> float:
        """When the waiter's chat may have its next message (0: any time)."""
        if waiter.chat is None or (state := self._chats.get(waiter.chat)) is None:
            return 0.0
        missing = max(0.0, 1.0 - self._tokens(state, now))
        ready = max(state.paused_until, now + missing * self.chat_interval)
        if waiter.priority is Priority.BULK:
            if state.sending:  # its answer will say when the interval starts
                return math.inf
            ready = max(ready, state.last + self.chat_interval)
        return ready

    def _window_opens(self, now: float) -> float:
        """When a send fits the window again (`now` or earlier: it fits; inf: it waits for
        an answer, which wakes the dispatcher)."""
        while self._answered and self._answered[0] <= now - WINDOW_SECONDS:
            self._answered.popleft()
        if self._in_flight + len(self._answered) < self.per_window:
            return now
        if self._in_flight >= self.per_window:
            return math.inf
        # The oldest answers that must leave the window for one more to fit.
        return self._answered[self._in_flight + len(self._answered) - self.per_window] + (
            WINDOW_SECONDS
        )

    def _answered_now(self, chat: ChatKey | None) -> None:
        now = self._clock()
        self._in_flight -= 1
        self._answered.append(now)
        if chat is not None and (state := self._chats.get(chat)) is not None:
            state.sending -= 1
            state.last = max(state.last, now)
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def _dispatch(self) -> None:
        """Runs while anyone waits: grants one slot at a time, best eligible waiter first."""
        self._changed = asyncio.Event()
        while self._waiters:
            self._changed.clear()
            now = self._clock()
            start = max(self._next_slot, self._paused_until, self._window_opens(now))
            if now < start:
                await self._sleep(start - now)
                continue
            waiting = [w for w in self._waiters if not w.granted.done()]
            self._waiters = waiting
            eligible = [w for w in waiting if self._ready_at(w, now) <= now]
            if not eligible:
                soonest = min((self._ready_at(w, now) for w in waiting), default=now)
                await self._sleep(soonest - now)
                continue
            chosen = min(eligible, key=lambda w: (w.priority, w.order))
            self._waiters.remove(chosen)
            chosen.granted.set_result(None)
            self._next_slot = now + self.interval
            self._in_flight += 1
            if chosen.chat is not None:
                state = self._chat(chosen.chat, now)
                state.tokens, state.at, state.last = self._tokens(state, now) - 1, now, now
                state.sending += 1
            self._trim(now)
        self._changed = None

    async def _sleep(self, seconds: float) -> None:
        """Until the time comes (inf: until something changes), or sooner when a waiter,
        a pause or an answer arrives."""
        assert self._changed is not None
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        timeout = None if math.isinf(seconds) else seconds
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout=timeout)

    def _trim(self, now: float) -> None:
        """Forgets chats that are as if new again: bucket full, no pause, interval over."""
        if len(self._chats) <= _CHATS_KEPT:
            return
        for key in [
            key
            for key, state in self._chats.items()
            if self._tokens(state, now) >= self.chat_burst
            and state.paused_until <= now
            and not state.sending
            and state.last + self.chat_interval <= now
        ]:
            del self._chats[key]
