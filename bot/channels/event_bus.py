"""Events for the pages and consoles that are open on other gateway instances.

A web chat page and an agent's console keep a WebSocket to one gateway, but what
they must hear (a reply, an agent's message, a new customer in the queue) may be
produced on another. Each hub delivers to its own sockets at once and publishes the
event here; every other instance hears it and delivers to its sockets. With one
gateway (no `SHOPDESK_REDIS_URL`) nothing needs to travel: `LocalBus`.

`RedisBus` uses one Redis pub/sub channel. Pub/sub keeps nothing: while Redis is
away, pages and consoles on other instances miss the events of that time (the
messages themselves are stored, a page gets them when it reconnects and a console
when it reloads the queue), and the bus subscribes again by itself once Redis is
back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
Rejoined = Callable[[], Awaitable[None]]
CHANNEL = "shopdesk:gateway-events"
RETRY_SECONDS = 1.0
SUBSCRIBE_WAIT_SECONDS = 3.0
PUBLISH_WAIT_SECONDS = 0.5
SKIP_SECONDS = 3.0
# At most one warning of a kind per this long while Redis is away, not one per event.
WARN_EVERY_SECONDS = 30.0


class EventBus(Protocol):
    def subscribe(self, topic: str, handler: Handler) -> None:
        """`handler` gets the payloads of `topic` published by other instances."""
        ...

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Tells the other instances; never raises (they miss it if it cannot go)."""
        ...

    def on_rejoined(self, handler: Rejoined) -> None:
        """`handler` runs when the instance hears the others again after Redis was away:
        what they published meanwhile is lost, so whoever relies on it must catch up."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalBus:
    """One gateway: there is nobody else to tell."""

    def subscribe(self, topic: str, handler: Handler) -> None:
        pass

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        pass

    def on_rejoined(self, handler: Rejoined) -> None:
        pass

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class RedisBus:
    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        self._url = url
        self._channel = channel
        self._origin = uuid.uuid4().hex  # its own events come back too: skipped
        self._handlers: dict[str, Handler] = {}
        self._rejoined: list[Rejoined] = []
        self._client: aioredis.Redis | None = None
        self._listening: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._warned_at: dict[str, float] = {}
        self._skip_until = 0.0

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic] = handler

    def on_rejoined(self, handler: Rejoined) -> None:
        self._rejoined.append(handler)

    async def start(self) -> None:
        self._client = aioredis.Redis.from_url(
            self._url, socket_timeout=5, socket_connect_timeout=2
        )
        self._listening = asyncio.create_task(self._listen_forever())
        # Hearing the others before serving, unless Redis is away (then later, by itself).
        try:
            await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_WAIT_SECONDS)
        except TimeoutError:
            self._warn("Redis did not answer at start; events of other gateways come later")

    async def stop(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            await asyncio.wait([self._listening])
        if self._client is not None:
            await self._client.aclose()

    @property
    def hearing(self) -> bool:
        """Whether the other instances' events reach this one now."""
        return self._subscribed.is_set()

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Bounded: a customer's turn waits for this, so a Redis that hangs or is away
        costs a turn at most PUBLISH_WAIT_SECONDS twice, then nothing until it is back."""
        if self._client is None or time.monotonic() < self._skip_until:
            return
        # default=str: as the consoles' own sockets get them (times as text).
        message = {"origin": self._origin, "topic": topic, "payload": payload}
        event = json.dumps(message, default=str)
        for attempt in (1, 2):
            try:
                await asyncio.wait_for(
                    self._client.publish(self._channel, event), PUBLISH_WAIT_SECONDS
                )
                return
            except (RedisError, OSError, TimeoutError) as error:
                # Once more on a new connection: after Redis restarted, the pooled one is
                # dead and only the first use tells.
                if attempt == 2:
                    kind = type(error).__name__
                    self._warn(f"an event for other gateways was not sent ({kind})")
                    # Until the listener hears Redis again, or a while has passed.
                    self._skip_until = time.monotonic() + SKIP_SECONDS

    async def _listen_forever(self) -> None:
        assert self._client is not None
        lost = False
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    # A bounded wait: an unbounded one would meet the socket timeout.
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":  # Redis confirms: events flow now
                        self._subscribed.set()
                        self._skip_until = 0.0
                        if lost:
                            lost = False
                            await self._tell_rejoined()
                    elif message["type"] == "message":
                        await self._dispatch(message["data"])
            except (RedisError, OSError) as error:
                self._subscribed.clear()
                lost = True
                self._warn(f"not hearing other gateways ({type(error).__name__}); retrying")
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
            await asyncio.sleep(RETRY_SECONDS)

    async def _tell_rejoined(self) -> None:
        logger.info("hearing the other gateways again; pages open here catch up")
        for handler in self._rejoined:
            try:
                await handler()
            except Exception:
                logger.exception("catching up after Redis was away failed")

    async def _dispatch(self, data: bytes) -> None:
        try:
            event = json.loads(data)
            if event["origin"] == self._origin:
                return
            handler = self._handlers.get(event["topic"])
            if handler is not None:
                await handler(event["payload"])
        except Exception:  # one bad event must not stop the bus
            logger.exception("an event from another gateway could not be delivered")

    def _warn(self, text: str) -> None:
        now = time.monotonic()
        if now - self._warned_at.get(text, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
            self._warned_at[text] = now
            logger.warning(text)


def make_event_bus(redis_url: str) -> EventBus:
    return RedisBus(redis_url) if redis_url else LocalBus()
