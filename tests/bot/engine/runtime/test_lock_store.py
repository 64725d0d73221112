"""The engines' conversation lock on a real Redis: two engine processes never hold one
conversation at once, turns are served in the order they asked, a killed engine's turn
is given up after its lease, and a Redis outage refuses the lock instead of hanging.
Each engine is a process of the engine's interpreter; Redis is Debian's redis-server."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from tests.support.engine_python import (
    RASA_PYTHON,
    engine_script_answer,
    run_engine_script,
    start_engine_script,
)
from tests.support.redis import RedisServer

pytestmark = pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs `make setup`")

SCRIPT = r"""
import asyncio, json, os, sys, time
import redis
from rasa.core.lock_store import LockError
from bot.engine.runtime.lock_store import AtomicRedisLockStore

job = json.load(sys.stdin)
store = AtomicRedisLockStore(url=job["url"], lease_seconds=1.5)
log = redis.Redis.from_url(job["url"])
out = {}

async def turn(conversation, name, hold):
    async with store.lock(conversation):
        log.rpush("log:" + conversation, "enter " + name)
        await asyncio.sleep(hold)
        log.rpush("log:" + conversation, "exit " + name)

async def queue():
    tasks = []
    counter = store._keys(job["conversation"])[2]
    for number in range(job["turns"]):
        name = f"{job['name']}-{number}"
        tasks.append(asyncio.create_task(turn(job["conversation"], name, job["hold"])))
        if job.get("in_order"):
            # The next turn asks only once this one has its ticket.
            while int(log.get(counter) or 0) < number + 1:
                await asyncio.sleep(0.001)
        else:
            await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)
    out["done"] = len(tasks)

async def hold():
    async with store.lock(job["conversation"]):
        log.rpush("held:" + job["conversation"], "yes")
        await asyncio.sleep(600)  # until the test kills this engine

async def wait_behind_a_dead_engine():
    log.blpop("held:" + job["conversation"], timeout=60)
    waiting = asyncio.create_task(turn(job["conversation"], "survivor", 0))
    await asyncio.sleep(1)
    out["blocked_while_holder_lived"] = not waiting.done()
    os.kill(job["holder_pid"], 9)
    killed = time.monotonic()
    await waiting
    out["waited_after_kill"] = time.monotonic() - killed

async def try_once():
    started = time.monotonic()
    try:
        await turn(job["conversation"], "try", 0)
        out["error"] = None
    except LockError as error:
        out["error"] = str(error)
    out["seconds"] = time.monotonic() - started

def keys():
    out["keys"] = sorted(key.decode() for key in log.keys("shopdesk:lock:*"))
    out["log"] = [entry.decode() for entry in log.lrange("log:" + job["conversation"], 0, -1)]

roles = {"queue": queue, "hold": hold, "wait": wait_behind_a_dead_engine, "try": try_once}
if job["role"] == "keys":
    keys()
else:
    asyncio.run(roles[job["role"]]())
json.dump(out, sys.stdout)
"""


def _job(server: RedisServer, role: str, **fields: Any) -> dict[str, Any]:
    return {"url": server.url, "role": role, "conversation": "c1", **fields}


def _holders_never_overlap(log: list[str]) -> bool:
    inside = None
    for entry in log:
        event, name = entry.split(" ", 1)
        if event == "enter" and inside is None:
            inside = name
        elif event == "exit" and inside == name:
            inside = None
        else:
            return False
    return inside is None


def test_two_engines_never_hold_one_conversation_at_once(redis_server: RedisServer) -> None:
    engines = [
        start_engine_script(SCRIPT, _job(redis_server, "queue", name=name, turns=12, hold=0.01))
        for name in ("a", "b")
    ]
    answers = [engine_script_answer(engine) for engine in engines]

    after = run_engine_script(SCRIPT, _job(redis_server, "keys"), timeout=120)
    assert [answer["done"] for answer in answers] == [12, 12]
    assert len(after["log"]) == 2 * 24
    assert _holders_never_overlap(after["log"])
    # The last turn released the conversation: nothing is left behind in Redis.
    assert after["keys"] == []


def test_turns_are_served_in_the_order_they_asked(redis_server: RedisServer) -> None:
    answer = run_engine_script(
        SCRIPT,
        _job(redis_server, "queue", name="t", turns=8, hold=0.05, in_order=True),
        timeout=120,
    )

    after = run_engine_script(SCRIPT, _job(redis_server, "keys"), timeout=120)
    assert answer["done"] == 8
    entered = [entry.split(" ")[1] for entry in after["log"] if entry.startswith("enter")]
    assert entered == [f"t-{number}" for number in range(8)]


def test_a_killed_engines_turn_is_given_up_after_its_lease(redis_server: RedisServer) -> None:
    holder = start_engine_script(SCRIPT, _job(redis_server, "hold"))
    try:
        survivor = run_engine_script(
            SCRIPT, _job(redis_server, "wait", holder_pid=holder.pid), timeout=120
        )
    finally:
        if holder.poll() is None:
            os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)

    after = run_engine_script(SCRIPT, _job(redis_server, "keys"), timeout=120)
    assert holder.returncode == -signal.SIGKILL
    assert survivor["blocked_while_holder_lived"] is True
    # Rasa's own store would keep the dead engine's ticket for its 60-s lifetime.
    assert survivor["waited_after_kill"] < 30
    assert after["log"] == ["enter survivor", "exit survivor"]
    assert after["keys"] == []


def test_without_redis_the_lock_is_refused_and_works_again_when_it_is_back(
    redis_server: RedisServer,
) -> None:
    redis_server.stop()
    refused = run_engine_script(SCRIPT, _job(redis_server, "try"), timeout=120)
    redis_server.start()
    back = run_engine_script(SCRIPT, _job(redis_server, "try"), timeout=120)

    assert refused["error"] is not None and "lock store unavailable" in refused["error"]
    assert back["error"] is None


def test_rasa_runs_several_workers_only_with_this_store(redis_server: RedisServer) -> None:
    """Rasa refuses more than one Sanic worker on its in-memory lock; this store lifts it."""
    script = r"""
import json, os, sys
from rasa.core.utils import number_of_sanic_workers
from rasa.utils.endpoints import EndpointConfig
os.environ["SANIC_WORKERS"] = "2"
ours = EndpointConfig(type="bot.engine.runtime.lock_store.AtomicRedisLockStore")
json.dump([number_of_sanic_workers(None), number_of_sanic_workers(ours)], sys.stdout)
"""
    assert run_engine_script(script, None, timeout=120) == [1, 2]


def test_a_broken_lease_setting_stops_the_engine_at_start() -> None:
    script = r"""
import json, sys
from bot.engine.runtime.lock_store import AtomicRedisLockStore
from rasa.utils.endpoints import EndpointConfig
try:
    AtomicRedisLockStore(EndpointConfig(url="redis://127.0.0.1:1/1", lease_seconds=0.1))
    print(json.dumps(None))
except ValueError as error:
    print(json.dumps(str(error)))
"""
    assert "lease_seconds must be at least 0.5" in run_engine_script(script, None, timeout=120)
