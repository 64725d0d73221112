"""The relay's per-conversation lock, shared by every gateway instance through Redis.

One gateway orders a conversation's turns with an asyncio lock (relay.ConversationLocks):
a turn stores its message and answers everything unanswered, oldest first, under it.
Two gateways each with their own lock would both find the same unanswered message and
send it to the engine twice, or answer a later message first. So with Redis configured,
a turn also holds a Redis lock on the conversation:

- taken with SET NX and a lease (LEASE_SECONDS), renewed every third of it while the
  turn runs; a gateway that dies holding it stops renewing, and the lock lapses;
- given back only by its holder (a Lua compare-and-delete), so a lapsed lock taken by
  another gateway is never released by the first;
- the local lock is taken first, so waiting turns of one gateway queue in memory and
  only one of them at a time asks Redis.

Redis away: the turn goes on under the local lock alone, and says so in the log once
a while. That is safe because the engines' own lock is in the same Redis
(bot/engine/runtime/lock_store.py): while Redis is away they refuse every turn, the
gateway keeps the message, and the one replayer answers it once Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from bot.channels.relay import ConversationLocks

logger = logging.getLogger(__name__)

KEY_PREFIX = "shopdesk:turn:"
LEASE_SECONDS = 5.0
POLL_SECONDS = 0.02
# A Redis call that takes longer than this counts as Redis being away.
CALL_SECONDS = 1.0
WARN_EVERY_SECONDS = 30.0

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class SharedConversationLocks:
    """See the module docstring."""

    def __init__(self, redis_url: str, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self._client = aioredis.Redis.from_url(
            redis_url, socket_timeout=CALL_SECONDS, socket_connect_timeout=CALL_SECONDS
        )
        self._lease_ms = round(lease_seconds * 1000)
        self._local = ConversationLocks()
        self._renew = self._client.register_script(_RENEW)
        self._release = self._client.register_script(_RELEASE)
        self._warned_at = -WARN_EVERY_SECONDS

    @contextlib.asynccontextmanager
    async def for_conversation(self, conversation_id: str) -> AsyncIterator[None]:
        key = KEY_PREFIX + conversation_id
        async with self._local.for_conversation(conversation_id):
            token = await self._acquire(key)
            done = asyncio.Event()
            renewing = asyncio.create_task(self._keep(key, token, done)) if token else None
            try:
                yield
            finally:
                # The flag ends the renewal even if its cancel is lost in a Redis call
                # (asyncio.wait_for on Python 3.11 can swallow one), and the wait is
                # bounded: a turn's end must never wait on its lease.
                done.set()
                if renewing is not None:
                    renewing.cancel()
                    await asyncio.wait([renewing], timeout=2 * CALL_SECONDS)
                if token is not None:
                    await self._give_back(key, token)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _acquire(self, key: str) -> str | None:
        """The lock's token once it is this turn's; None when Redis does not answer."""
        token = secrets.token_hex(8)
        while True:
            try:
                async with asyncio.timeout(CALL_SECONDS):
                    taken = await self._client.set(key, token, nx=True, px=self._lease_ms)
            except (RedisError, OSError, TimeoutError) as error:
                self._warn(f"turns are ordered by this gateway alone ({type(error).__name__})")
                return None
            if taken:
                return token
            await asyncio.sleep(POLL_SECONDS)

    async def _keep(self, key: str, token: str, done: asyncio.Event) -> None:
        while not done.is_set():
            await asyncio.sleep(self._lease_ms / 3000)
            if done.is_set():
                return
            try:
                async with asyncio.timeout(CALL_SECONDS):
                    kept = await self._renew(keys=[key], args=[token, self._lease_ms])
            except (RedisError, OSError, TimeoutError) as error:
                self._warn(f"a turn's lock could not be renewed ({type(error).__name__})")
                continue
            if not kept and not done.is_set():
                self._warn("a turn outlived its lock's lease; another gateway may go ahead")
                return

    async def _give_back(self, key: str, token: str) -> None:
        try:
            async with asyncio.timeout(CALL_SECONDS):
                await self._release(keys=[key], args=[token])
        except (RedisError, OSError, TimeoutError) as error:  # it lapses by itself
            self._warn(f"a turn's lock was left to lapse ({type(error).__name__})")

    def _warn(self, what: str) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning("Redis: %s", what)
