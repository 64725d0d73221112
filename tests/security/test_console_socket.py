"""The console's WebSocket on the real gateway (issue 19, finding 4): which pages may open
it, and that it ends with the session that opened it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import WebSocketTestSession
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect

import bot.web.console
from bot.handoff.agents import add_agent, start_session
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.tables import AgentSession
from bot.web.api import GatewayServices
from bot.web.app import create_app
from tests.support.engines import ScriptedEngine
from tests.support.queue import customer_asked

PASSWORD = "correct horse battery"
OWN_ORIGIN = "http://testserver"
SHOP_DESK = "https://desk.shop.example"


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    database = make_engine(database_url)
    yield make_session_factory(database)
    database.dispose()


@pytest.fixture
def app(database_url: str) -> FastAPI:
    settings = Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        webchat_secret=SecretStr("w"),
        queue_update_seconds=3600,
        console_allowed_origins=f"{SHOP_DESK} https://other.shop.example",
    )
    return create_app(settings, engine=ScriptedEngine())


@pytest.fixture
def mei(app: FastAPI, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """Mei's browser, signed in; it runs the gateway's lifespan."""
    with TestClient(app) as client:
        with session_factory.begin() as session:
            add_agent(session, username="mei", display_name="Mei Chen", password=PASSWORD)
            add_agent(session, username="liwei", display_name="Li Wei", password=PASSWORD)
        _login(client, "mei")
        yield client


@pytest.fixture
def liwei(mei: TestClient) -> TestClient:
    """Li's browser, signed in, on the same gateway."""
    client = TestClient(mei.app)
    client.portal = mei.portal
    _login(client, "liwei")
    return client


def _login(client: TestClient, username: str) -> None:
    response = client.post("/api/console/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text


def _console(client: TestClient, origin: str | None = OWN_ORIGIN) -> WebSocketTestSession:
    headers = {"origin": origin} if origin else {}
    return client.websocket_connect("/ws/console", headers=headers)


def _refusal(client: TestClient, origin: str | None = OWN_ORIGIN) -> int:
    """The close code of a socket that should not open."""
    with pytest.raises(WebSocketDisconnect) as refused, _console(client, origin):
        pass
    return refused.value.code


def _services(client: TestClient) -> GatewayServices:
    services: GatewayServices = client.app.state.services  # type: ignore[attr-defined]
    return services


def _next_message(socket: WebSocketTestSession, client: TestClient) -> Message:
    """The socket's next message. Should none come within a while, the consoles are sent an
    event, so that a socket that ought to have closed fails the test instead of hanging it."""
    portal, console = client.portal, _services(client).console
    assert portal is not None
    nudge = threading.Timer(15, lambda: portal.call(console.notify, {"type": "nudge"}))
    nudge.start()
    try:
        return socket.receive()
    finally:
        nudge.cancel()


def _change_status(client: TestClient) -> None:
    """Something every open console hears about (the queue's agents changed)."""
    for status in ("available", "away"):
        assert client.put("/api/console/me/status", json={"status": status}).status_code == 200


def _closed(message: Message) -> tuple[str, Any]:
    return message["type"], message.get("code")


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://testserver.evil.example",
        "http://evil.example:80",
        "null",
        "http://testserver:8080",
        None,
    ],
)
def test_a_page_of_another_site_cannot_open_the_agents_console(
    mei: TestClient, origin: str | None
) -> None:
    """The browser would send Mei's cookie with the handshake of any page she visits."""
    assert _refusal(mei, origin) == 4403


@pytest.mark.parametrize("origin", [OWN_ORIGIN, "ws://testserver", SHOP_DESK, SHOP_DESK + "/"])
def test_the_gateways_own_page_and_configured_origins_open_it(mei: TestClient, origin: str) -> None:
    with _console(mei, origin) as socket:
        _change_status(mei)
        event = socket.receive_json()

    assert event == {"type": "queue"}


def test_it_refuses_no_session_and_a_made_up_one(mei: TestClient) -> None:
    stranger = TestClient(mei.app)
    stranger.portal = mei.portal
    without = _refusal(stranger)
    stranger.cookies.set("shopdesk_agent", "made-up-token")
    made_up = _refusal(stranger)

    assert (without, made_up) == (4401, 4401)


def test_signing_out_closes_the_sessions_console(mei: TestClient, liwei: TestClient) -> None:
    with _console(mei) as socket:
        assert mei.post("/api/console/logout").status_code == 204
        _change_status(liwei)  # customers' messages would be such events
        after = _next_message(socket, liwei)

    assert _closed(after) == ("websocket.close", 4401)
    assert _refusal(mei) == 4401  # and it cannot come back


def test_another_agent_signing_out_leaves_my_console_open(
    mei: TestClient, liwei: TestClient
) -> None:
    with _console(mei) as mine, _console(liwei) as theirs:
        assert liwei.post("/api/console/logout").status_code == 204
        _change_status(mei)
        mine_hears = mine.receive_json()
        theirs_after = _next_message(theirs, mei)

    assert mine_hears == {"type": "queue"}
    assert _closed(theirs_after) == ("websocket.close", 4401)


def test_a_console_is_closed_when_its_session_expires(
    mei: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        agent_id = session.scalar(sa.text("SELECT id FROM agents WHERE username = 'mei'"))
        token = start_session(session, agent_id=agent_id, lifetime=timedelta(seconds=2))
    short = TestClient(mei.app)
    short.portal = mei.portal
    short.cookies.set("shopdesk_agent", token)

    with _console(short) as socket:
        after = _next_message(socket, mei)

    assert _closed(after) == ("websocket.close", 4401)


def test_a_console_is_closed_when_its_session_is_gone_from_the_database(
    mei: TestClient, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after signing out on another gateway, which cannot reach this one's sockets."""
    monkeypatch.setattr(bot.web.console, "SESSION_RECHECK_SECONDS", 0.2)
    with _console(mei) as socket:
        with session_factory.begin() as session:
            session.execute(sa.delete(AgentSession))
        after = _next_message(socket, mei)

    assert _closed(after) == ("websocket.close", 4401)


def _events_until_sentinel(socket: WebSocketTestSession) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while (event := socket.receive_json())["type"] != "sentinel":
        events.append(event)
    return events


def test_a_customers_message_reaches_only_the_agent_who_has_the_conversation(
    mei: TestClient, liwei: TestClient, session_factory: sessionmaker[Session]
) -> None:
    created = mei.post("/api/conversations").json()
    with session_factory.begin() as session:
        handoff = customer_asked(session, conversation_id=created["id"])
    assert mei.post(f"/api/console/handoffs/{handoff.id}/take").status_code == 200
    with _console(mei) as mine, _console(liwei) as theirs:
        said = mei.post(
            f"/api/conversations/{created['id']}/messages",
            json={"text": "my phone is 138 0013 4521"},
            headers={"Authorization": f"Bearer {created['token']}"},
        )
        assert said.status_code == 200
        portal, console = mei.portal, _services(mei).console
        assert portal is not None
        portal.call(console.notify, {"type": "sentinel"})

        mine_heard, theirs_heard = _events_until_sentinel(mine), _events_until_sentinel(theirs)

    assert [e["message"]["text"] for e in mine_heard if e["type"] == "message"] == [
        "my phone is 138 0013 4521"
    ]
    assert [e for e in theirs_heard if e["type"] == "message"] == []
    assert {"type": "queue"} in theirs_heard  # the queue itself is everyone's
