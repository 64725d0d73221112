"""Two gateway instances on one database and one Redis: a page open on one sees what
happens in its conversation on the other, a console on one hears the queue and its
agent's conversations on the other, and the bus comes back by itself after Redis
was away. Redis is Debian's redis-server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.channels.event_bus import LocalBus, RedisBus, make_event_bus
from bot.channels.webchat_hub import CATCH_UP_CLOSE_CODE
from bot.handoff.console_hub import ConsoleHub
from bot.settings import Settings
from bot.storage.tables import utc_now
from bot.web.app import create_app
from tests.support.engines import ScriptedEngine
from tests.support.redis import RedisServer
from tests.support.waiting import until

SECRET = "test-webchat-secret"


@contextmanager
def _gateway(database_url: str, redis_url: str, port: int) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        webchat_secret=SecretStr(SECRET),
        redis_url=SecretStr(redis_url),
        gateway_port=port,
    )
    with TestClient(create_app(settings, engine=ScriptedEngine())) as client:
        yield client


def _hello(socket: WebSocketTestSession, session: str | None = None) -> dict[str, Any]:
    socket.send_json({"type": "hello", "session": session, "last_seen": 0})
    welcome: dict[str, Any] = socket.receive_json()
    assert welcome["type"] == "welcome", welcome
    return welcome


def _frames_until(socket: WebSocketTestSession, wanted: str, seconds: float = 10) -> list[Any]:
    """Frames the page got until a message with text `wanted`, asking with pings so that
    the wait is bounded (a socket read alone would wait for ever)."""
    frames: list[Any] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        socket.send_json({"type": "ping"})
        while (frame := socket.receive_json())["type"] != "pong":
            frames.append(frame)
        if any(f["type"] == "message" and f["message"]["text"] == wanted for f in frames):
            return frames
        time.sleep(0.05)
    raise AssertionError(f"no message {wanted!r} within {seconds} s; got {frames}")


def test_a_page_on_one_gateway_sees_the_turn_taken_on_another(
    database_url: str, redis_server: RedisServer
) -> None:
    with (
        _gateway(database_url, redis_server.url, 8001) as first,
        _gateway(database_url, redis_server.url, 8002) as second,
        first.websocket_connect("/ws/chat") as tab_on_first,
    ):
        welcome = _hello(tab_on_first)
        # The same customer's second tab, which the load balancer sent to the other gateway.
        with second.websocket_connect("/ws/chat") as tab_on_second:
            again = _hello(tab_on_second, session=welcome["session"])
            tab_on_first.send_json({"type": "message", "client_id": "client-0001", "text": "hello"})
            seen_on_second = _frames_until(tab_on_second, "echo: hello")

    assert again["conversation_id"] == welcome["conversation_id"]
    messages = [
        (f["message"]["sender"], f["message"]["text"])
        for f in seen_on_second
        if f["type"] == "message"
    ]
    assert messages == [("customer", "hello"), ("bot", "echo: hello")]
    assert {"type": "typing", "on": True} in seen_on_second


def test_after_redis_was_away_pages_reconnect_and_get_what_they_missed(
    database_url: str, redis_server: RedisServer
) -> None:
    with (
        _gateway(database_url, redis_server.url, 8001) as first,
        _gateway(database_url, redis_server.url, 8002) as second,
        second.websocket_connect("/ws/chat") as page,
    ):
        welcome = _hello(page)
        redis_server.stop()
        # The customer's other tab, on the other gateway, takes a turn meanwhile.
        with first.websocket_connect("/ws/chat") as tab:
            _hello(tab, session=welcome["session"])
            tab.send_json({"type": "message", "client_id": "client-0001", "text": "hello"})
            _frames_until(tab, "echo: hello")
        redis_server.start()
        with pytest.raises(WebSocketDisconnect) as closed:
            _frames_until(page, "never sent", seconds=20)  # pings until the page is closed
        with second.websocket_connect("/ws/chat") as reconnected:
            _hello(reconnected, session=welcome["session"])
            caught_up = _frames_until(reconnected, "echo: hello")

    assert closed.value.code == CATCH_UP_CLOSE_CODE == 1012
    texts = [f["message"]["text"] for f in caught_up if f["type"] == "message"]
    assert texts == ["hello", "echo: hello"]


class FakeConsoleSocket:
    """What ConsoleHub uses of a console's WebSocket."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_consoles_hear_the_queue_and_their_agents_messages_from_another_gateway(
    redis_server: RedisServer,
) -> None:
    buses = [RedisBus(redis_server.url), RedisBus(redis_server.url)]
    for bus in buses:
        await bus.start()
    here, there = ConsoleHub(buses[0]), ConsoleHub(buses[1])
    agent_7, agent_8 = FakeConsoleSocket(), FakeConsoleSocket()
    expires = utc_now() + timedelta(hours=1)
    here.add(cast(WebSocket, agent_7), session="s7", expires_at=expires, agent_id=7)
    here.add(cast(WebSocket, agent_8), session="s8", expires_at=expires, agent_id=8)
    try:
        await there.notify({"type": "queue"})
        await there.notify({"type": "message", "handoff_id": 3, "text": "hi"}, agent_id=7)
        await until(lambda: len(agent_7.sent) == 2 and len(agent_8.sent) == 1)
        await there.close_session("s8", code=4401, reason="signed out")
        await until(lambda: agent_8.closed is not None)
    finally:
        for bus in buses:
            await bus.stop()

    assert agent_7.sent == [
        '{"type": "queue"}',
        '{"type": "message", "handoff_id": 3, "text": "hi"}',
    ]
    assert agent_8.sent == ['{"type": "queue"}']  # another agent's conversation: not for 8
    assert agent_8.closed == (4401, "signed out") and agent_7.closed is None


@asynccontextmanager
async def _listener_and_speaker(
    redis_server: RedisServer,
) -> AsyncIterator[tuple[RedisBus, RedisBus, list[dict[str, Any]]]]:
    """Two gateways' buses: what the first hears of the second's "webchat" events."""
    heard: list[dict[str, Any]] = []

    async def hear(payload: dict[str, Any]) -> None:
        heard.append(payload)

    listener, speaker = RedisBus(redis_server.url), RedisBus(redis_server.url)
    listener.subscribe("webchat", hear)
    await listener.start()
    await speaker.start()
    try:
        yield listener, speaker, heard
    finally:
        redis_server.resume()  # if a test left it paused
        await listener.stop()
        await speaker.stop()


async def test_after_redis_was_away_the_bus_hears_the_other_gateway_again(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with _listener_and_speaker(redis_server) as (listener, speaker, heard):
        await speaker.publish("webchat", {"n": 1})
        await until(lambda: heard == [{"n": 1}])

        redis_server.stop()
        await until(lambda: not listener.hearing)
        await speaker.publish("webchat", {"n": 2})  # lost, and says so; never raises
        redis_server.start()
        await until(lambda: listener.hearing, seconds=15)
        await speaker.publish("webchat", {"n": 3})
        await until(lambda: heard == [{"n": 1}, {"n": 3}])

    assert "an event for other gateways was not sent (ConnectionError)" in caplog.text


async def test_a_hung_redis_holds_a_turn_up_only_briefly_and_then_not_at_all(
    redis_server: RedisServer,
) -> None:
    async with _listener_and_speaker(redis_server) as (_, speaker, heard):
        assert speaker._client is not None
        publish = speaker._client.publish
        tries: list[int] = []

        async def counted(channel: str, event: str) -> int:
            tries.append(json.loads(event)["payload"]["n"])
            return await publish(channel, event)

        speaker._client.publish = counted  # type: ignore[method-assign,assignment]
        redis_server.pause()
        for n in range(5):
            await speaker.publish("webchat", {"n": n})  # each returns (bounded), none raises
        tries_while_hung = list(tries)
        redis_server.resume()
        # Events are tried again after a few seconds, or as soon as the bus re-subscribes.
        deadline = time.monotonic() + 15
        while {"n": 9} not in heard and time.monotonic() < deadline:
            await speaker.publish("webchat", {"n": 9})
            await asyncio.sleep(0.2)

    # Two bounded tries for the first event, then the others are not even tried.
    assert tries_while_hung == [0, 0]
    assert {"n": 9} in heard


def test_one_gateway_needs_no_redis() -> None:
    assert isinstance(make_event_bus(""), LocalBus)
    assert isinstance(make_event_bus("redis://127.0.0.1:6379/1"), RedisBus)
