"""The conversation lock for several engines sharing Redis, atomic where Rasa's is not.

Rasa 3.6's `RedisLockStore` reads a conversation's ticket list, changes it in Python
and writes it back: two engines taking a ticket for one conversation at the same
moment can both get the same number and then process its messages together, or out
of order. Here each step is one Lua script, which Redis runs with nothing in between:

- A ticket is the conversation's counter plus one (`INCR`), queued in a sorted set
  by its number; the lowest ticket still queued is the one served.
- Each ticket is a lease of a few seconds on Redis's own clock (engines on machines
  whose clocks differ still agree), renewed while its engine works or waits. An
  engine that dies stops renewing, so the next ticket is served within one lease
  rather than after Rasa's 60-second ticket lifetime.
- A waiting engine checks every 20 ms instead of Rasa's every second.
- When the last ticket is released the conversation's keys are deleted; keys left by
  a dead engine expire by themselves.

If Redis cannot be reached the lock is refused with Rasa's `LockError`: the engine
answers that message with an error, and the gateway keeps it for its replayer.
"""

import asyncio
import logging
import weakref
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, List, Optional, Text

import redis.asyncio as aioredis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DEFAULT_URL = "redis://127.0.0.1:6379/1"
DEFAULT_KEY_PREFIX = "shopdesk:lock:"

# Shared by the scripts: Redis's clock in milliseconds, and dropping lapsed leases.
_PRELUDE = """
local order, leases, counter = KEYS[1], KEYS[2], KEYS[3]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local held = redis.call('HGETALL', leases)
for i = 1, #held, 2 do
  if tonumber(held[i + 1]) <= now then
    redis.call('HDEL', leases, held[i])
    redis.call('ZREM', order, held[i])
  end
end
local function keep(ticket)
  redis.call('HSET', leases, ticket, now + tonumber(ARGV[1]))
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[2]) end
end
"""

# ARGV: lease ms, keys' idle expiry ms. Returns the new ticket's number.
_ISSUE = (
    _PRELUDE
    + """
local ticket = redis.call('INCR', counter)
redis.call('ZADD', order, ticket, ticket)
keep(ticket)
return ticket
"""
)

# ARGV: lease ms, keys' idle expiry ms, ticket. Renews the ticket's lease and returns
# 1 if it is the one served, 0 if it waits, -1 if its lease lapsed (it is gone).
_RENEW = (
    _PRELUDE
    + """
local ticket = ARGV[3]
if not redis.call('HGET', leases, ticket) then return -1 end
keep(ticket)
if redis.call('ZRANGE', order, 0, 0)[1] == ticket then return 1 end
return 0
"""
)

# ARGV: lease ms, keys' idle expiry ms, ticket. Deletes the keys once nobody is queued.
_RELEASE = (
    _PRELUDE
    + """
redis.call('HDEL', leases, ARGV[3])
redis.call('ZREM', order, ARGV[3])
if redis.call('ZCARD', order) == 0 then redis.call('DEL', order, leases, counter) end
return 1
"""
)


class AtomicRedisLockStore(LockStore):
    """Per-conversation ticket locks in Redis, for `lock_store` in endpoints.yml:

    ```yaml
    lock_store:
      type: bot.engine.runtime.lock_store.AtomicRedisLockStore
      url: ${SHOPDESK_REDIS_URL}     # redis://host:6379/1 (rediss:// for TLS)
      lease_seconds: 3               # how soon a dead engine's turn is given up
    ```
    """

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        *,
        url: Optional[Text] = None,
        key_prefix: Text = DEFAULT_KEY_PREFIX,
        lease_seconds: float = 3.0,
        poll_seconds: float = 0.02,
        socket_timeout: float = 2.0,
    ) -> None:
        settings = dict(endpoint_config.kwargs) if endpoint_config else {}
        self._url = url or (endpoint_config.url if endpoint_config else None) or DEFAULT_URL
        self._prefix = str(settings.get("key_prefix", key_prefix))
        self._lease_ms = int(1000 * float(settings.get("lease_seconds", lease_seconds)))
        self._poll_seconds = float(settings.get("poll_seconds", poll_seconds))
        self._socket_timeout = float(settings.get("socket_timeout", socket_timeout))
        if self._lease_ms < 500 or not 0 < self._poll_seconds < self._lease_ms / 3000:
            raise ValueError("lease_seconds must be at least 0.5 and poll_seconds under a third")
        # Keys nobody renews (their engine died) disappear after ten leases.
        self._idle_expiry_ms = 10 * self._lease_ms
        # redis.asyncio connections belong to the event loop that opened them.
        self._clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis]" = (
            weakref.WeakKeyDictionary()
        )
        super().__init__()

    def _client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # One connection, not a pool: redis-py 4.6 checks a pooled connection out
            # under `async_timeout(0)`, which on Python 3.10 can swallow a task's
            # cancellation (a gateway that gave up on a turn, or the end of a lease's
            # renewal) and let the task carry on as if nothing had happened.
            client = aioredis.Redis.from_url(
                self._url,
                socket_timeout=self._socket_timeout,
                socket_connect_timeout=self._socket_timeout,
                single_connection_client=True,
            )
            self._clients[loop] = client
        return client

    def _keys(self, conversation_id: Text) -> List[Text]:
        # One hash tag, so that a Redis Cluster keeps the three keys in one slot.
        base = f"{self._prefix}{{{conversation_id}}}"
        return [f"{base}:order", f"{base}:leases", f"{base}:next"]

    async def _script(self, script: Text, conversation_id: Text, *extra: Any) -> int:
        try:
            result = await self._client().eval(
                script,
                3,
                *self._keys(conversation_id),
                self._lease_ms,
                self._idle_expiry_ms,
                *extra,
            )
        except (RedisError, OSError) as error:
            raise LockError(f"lock store unavailable: {error.__class__.__name__}") from error
        return int(result)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Rasa's `lock`: waits its turn (at most `lock_lifetime` seconds), then holds the
        conversation, renewing its lease, until the block ends. `wait_time_in_seconds`
        is Rasa's polling interval, replaced by `poll_seconds`."""
        ticket = await self._script(_ISSUE, conversation_id)
        try:
            await self._wait_for_turn(conversation_id, ticket, lock_lifetime)
            done = asyncio.Event()
            renewing = asyncio.create_task(self._renew_while_held(conversation_id, ticket, done))
            try:
                yield TicketLock(conversation_id)
            finally:
                # The flag stops it even if the cancel is lost in a Redis call; the wait is
                # bounded so that a renewal stuck on Redis cannot hold the turn's end.
                done.set()
                renewing.cancel()
                await asyncio.wait([renewing], timeout=self._lease_ms / 1000)
        finally:
            await self._release(conversation_id, ticket)

    async def _wait_for_turn(self, conversation_id: Text, ticket: int, limit: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            state = await self._script(_RENEW, conversation_id, ticket)
            if state == 1:
                return
            if state == -1:
                raise LockError(f"lock of conversation {conversation_id} lapsed while waiting")
            if loop.time() > deadline:
                raise LockError(f"could not lock conversation {conversation_id} in time")
            await asyncio.sleep(self._poll_seconds)

    async def _renew_while_held(
        self, conversation_id: Text, ticket: int, done: asyncio.Event
    ) -> None:
        while not done.is_set():
            await asyncio.sleep(self._lease_ms / 3000)
            if done.is_set():
                return
            try:
                state = await self._script(_RENEW, conversation_id, ticket)
            except LockError as error:
                logger.warning("could not renew the lock of a conversation: %s", error)
                continue
            if state == -1 and not done.is_set():
                logger.error(
                    "the lock of conversation %s lapsed while its turn was running",
                    conversation_id,
                )
                return

    async def _release(self, conversation_id: Text, ticket: int) -> None:
        try:
            await self._script(_RELEASE, conversation_id, ticket)
        except LockError as error:
            # The lease lapses by itself: the next ticket waits one lease at most.
            logger.warning("could not release the lock of a conversation: %s", error)
