"""The turn lock two gateway instances share through Redis: one turn of a conversation
at a time across both, a dead holder's lock lapses, a long turn keeps its lock, and
with Redis away turns go on (the engines refuse them meanwhile) until it is back.
Redis is Debian's redis-server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.relay import Relay
from bot.channels.shared_locks import KEY_PREFIX, SharedConversationLocks
from bot.storage.conversations import create_conversation, list_messages
from tests.support.engines import ScriptedEngine
from tests.support.redis import RedisServer

LEASE = 0.3


@pytest.fixture
async def two_gateways(redis_server: RedisServer) -> AsyncIterator[list[SharedConversationLocks]]:
    gateways = [SharedConversationLocks(redis_server.url, lease_seconds=LEASE) for _ in "ab"]
    yield gateways
    for locks in gateways:
        await locks.aclose()


async def test_two_gateways_never_hold_one_conversation_at_once(
    two_gateways: list[SharedConversationLocks],
) -> None:
    inside: list[int] = []
    most = 0

    async def turn(locks: SharedConversationLocks, conversation: str) -> None:
        nonlocal most
        async with locks.for_conversation(conversation):
            inside.append(1)
            most = max(most, len(inside))
            await asyncio.sleep(0.01)
            inside.pop()

    await asyncio.gather(*(turn(two_gateways[n % 2], "c1") for n in range(20)))
    assert most == 1

    # Another conversation is not held up by one in a turn.
    async with two_gateways[0].for_conversation("c1"):
        started = time.monotonic()
        await asyncio.wait_for(turn(two_gateways[1], "c2"), timeout=LEASE)
        assert time.monotonic() - started < LEASE


async def test_a_dead_gateways_lock_lapses_and_a_long_turn_keeps_its_own(
    redis_server: RedisServer, two_gateways: list[SharedConversationLocks]
) -> None:
    one, other = two_gateways
    # A gateway killed mid-turn: its lock stays, nobody renews it.
    redis.Redis.from_url(redis_server.url).set(KEY_PREFIX + "c1", "dead", px=int(LEASE * 1000))
    started = time.monotonic()
    async with other.for_conversation("c1"):
        waited = time.monotonic() - started
    assert LEASE - 0.05 <= waited < LEASE + 0.5

    # A turn three leases long keeps its lock all along.
    entered_later = asyncio.Event()

    async def second() -> None:
        async with other.for_conversation("c2"):
            entered_later.set()

    async with one.for_conversation("c2"):
        waiting = asyncio.create_task(second())
        await asyncio.sleep(3 * LEASE)
        assert not entered_later.is_set()
    await asyncio.wait_for(waiting, timeout=1)


async def test_with_redis_away_turns_go_on_and_it_is_used_again_once_back(
    redis_server: RedisServer,
    two_gateways: list[SharedConversationLocks],
    caplog: pytest.LogCaptureFixture,
) -> None:
    one, other = two_gateways
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="bot.channels.shared_locks"):
        async with one.for_conversation("c1"):
            pass
    assert "turns are ordered by this gateway alone (ConnectionError)" in caplog.text

    redis_server.start()
    async with one.for_conversation("c1"):
        blocked = asyncio.create_task(other.for_conversation("c1").__aenter__())
        await asyncio.sleep(0.2)
        assert not blocked.done()
    await asyncio.wait_for(blocked, timeout=1)


async def test_two_gateways_answer_each_message_once_in_the_order_they_stored_them(
    session_factory: sessionmaker[Session], two_gateways: list[SharedConversationLocks]
) -> None:
    """Each gateway answers every unanswered message of the conversation in a turn: with
    only its own lock, both would send the other's message to the engine too."""
    engine = ScriptedEngine(delay_seconds=0.02)
    relays = [
        Relay(session_factory=session_factory, engine=engine, locks=locks) for locks in two_gateways
    ]
    with session_factory.begin() as session:
        conversation_id = create_conversation(session, channel="api")[0].id

    async def say(number: int) -> list[str]:
        produced = await relays[number % 2].accept_and_answer(
            conversation_id=conversation_id, channel="api", text=f"message {number}"
        )
        return [message.text or "" for message in produced]

    answers = await asyncio.gather(*(say(number) for number in range(12)))

    with session_factory() as session:
        stored = [
            message.text or ""
            for message in list_messages(session, conversation_id=conversation_id)
            if message.direction == "in"
        ]
    assert [call.text for call in engine.calls] == stored
    assert sorted(stored) == sorted(f"message {number}" for number in range(12))
    assert all(answer == [f"echo: message {number}"] for number, answer in enumerate(answers))
    assert engine.most_active == 1
