"""The agent console's API with a web chat customer on the other side (scripted engine)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import WebSocketTestSession

from bot.domain.handoff import HandoffPolicy, HandoffReason
from bot.domain.incident_changes import IncidentChange
from bot.domain.incidents import IncidentStatus
from bot.handoff.agents import add_agent, disable, set_role
from bot.handoff.desk import HandoffDesk, HandoffRequest
from bot.handoff.texts import CARRY_ON, KEEP_WAITING, LEAVE_MESSAGE, RATING_QUESTION
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.incidents import Author, change_incident, declare_incident
from bot.web.app import create_app
from tests.bot.domain.test_incident_changes import DRAFT
from tests.support.engines import ScriptedEngine

PASSWORD = "correct horse battery"


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    database = make_engine(database_url)
    yield make_session_factory(database)
    database.dispose()


def _settings(database_url: str, **changes: Any) -> Settings:
    return Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        webchat_secret=SecretStr("w"),
        queue_update_seconds=3600,
        **changes,
    )


@contextmanager
def _gateway(
    settings: Settings,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
    base_url: str = "http://testserver",
) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine), base_url=base_url) as client:
        with session_factory.begin() as session:
            add_agent(session, username="mei", display_name="Mei Chen", password=PASSWORD)
        yield client


@pytest.fixture
def client(
    database_url: str, engine: ScriptedEngine, session_factory: sessionmaker[Session]
) -> Iterator[TestClient]:
    with _gateway(_settings(database_url), engine, session_factory) as client:
        yield client


def _login(client: TestClient) -> None:
    response = client.post("/api/console/login", json={"username": "mei", "password": PASSWORD})
    assert response.status_code == 200, response.text


def _frames_until(socket: WebSocketTestSession, sender: str) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while True:
        frame = socket.receive_json()
        frames.append(frame)
        if frame["type"] == "message" and frame["message"]["sender"] == sender:
            return frames


def _queue_customer(
    client: TestClient, session_factory: sessionmaker[Session], socket: WebSocketTestSession
) -> str:
    """What the engine's handoff action does for a customer who asked for a person."""
    socket.send_json({"type": "hello", "session": None, "last_seen": 0})
    conversation_id: str = socket.receive_json()["conversation_id"]
    socket.send_json({"type": "message", "client_id": "hello-0001", "text": "hi"})
    _frames_until(socket, "bot")
    HandoffDesk(session_factory, HandoffPolicy()).request(
        HandoffRequest(
            conversation_id=conversation_id,
            reason=HandoffReason.CUSTOMER_ASKED,
            reason_detail="asked for a person",
            summary={"intents": ["greet", "human_agent"], "verified_orders": []},
            verified=False,
            affected_by_incident=False,
            order_value=None,
        ),
        active_incidents=0,
    )
    return conversation_id


def _say(socket: WebSocketTestSession, client_id: str, text: str) -> None:
    socket.send_json({"type": "message", "client_id": client_id, "text": text})
    while socket.receive_json()["type"] != "ack":
        pass  # the end of the previous turn's typing indicator


def test_every_console_route_but_login_refuses_a_request_without_a_session(
    client: TestClient,
) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    console_routes = [
        (method, path.replace("{handoff_id}", "1").replace("{callback_id}", "1"))
        for path, operations in paths.items()
        if path.startswith("/api/console/") and path != "/api/console/login"
        for method in operations
    ]

    answers = {(m, p): client.request(m, p, json={}).status_code for m, p in console_routes}

    assert len(console_routes) >= 12
    assert set(answers.values()) == {401}, answers


def test_a_wrong_name_and_a_wrong_password_look_the_same(client: TestClient) -> None:
    wrong_password = client.post(
        "/api/console/login", json={"username": "mei", "password": "not it at all"}
    )
    no_such_agent = client.post(
        "/api/console/login", json={"username": "nobody", "password": PASSWORD}
    )
    right = client.post("/api/console/login", json={"username": "mei", "password": PASSWORD})

    assert wrong_password.status_code == no_such_agent.status_code == 401
    assert wrong_password.json() == no_such_agent.json()
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/api/console/me").json()["display_name"] == "Mei Chen"


def test_take_chat_hand_back_and_the_bot_resumes(
    client: TestClient, engine: ScriptedEngine, session_factory: sessionmaker[Session]
) -> None:
    _login(client)
    client.put("/api/console/me/status", json={"status": "available"})
    with client.websocket_connect("/ws/chat") as customer:
        conversation_id = _queue_customer(client, session_factory, customer)
        [entry] = client.get("/api/console/queue").json()["waiting"]
        assert (entry["reason"], entry["position"]) == ("customer_asked", 1)

        taken = client.post(f"/api/console/handoffs/{entry['id']}/take")
        joined = _frames_until(customer, "system")[-1]["message"]["text"]
        _say(customer, "to-agent-01", "my parcel is soaked")
        detail = client.get(f"/api/console/handoffs/{entry['id']}").json()
        reply = client.post(
            f"/api/console/handoffs/{entry['id']}/messages", json={"text": "So sorry! Photo?"}
        )
        from_agent = _frames_until(customer, "agent")[-1]["message"]["text"]
        client.post(f"/api/console/handoffs/{entry['id']}/hand-back", json={"note": "sent label"})
        back = _frames_until(customer, "system")[-1]["message"]
        _say(customer, "to-bot-0001", "thanks, and my refund?")
        after = _frames_until(customer, "bot")[-1]["message"]["text"]
        rating = _frames_until(customer, "system")[-1]["message"]
        _say(customer, "rating-0001", rating["buttons"][3]["payload"])  # 4 of 5
        thanks = _frames_until(customer, "system")[-1]["message"]["text"]

    assert taken.status_code == 200 and taken.json()["state"] == "assigned"
    assert joined == "Mei Chen from our team has joined the chat."
    assert detail["transcript"][-1]["text"] == "my parcel is soaked"
    assert detail["summary"]["intents"] == ["greet", "human_agent"]
    assert reply.status_code == 200 and from_agent == "So sorry! Photo?"
    # While with the agent the bot heard nothing; after the hand-back it resumed first.
    assert [call.text for call in engine.calls] == ["hi", "thanks, and my refund?"]
    assert engine.resumed == [(conversation_id, "returned by an agent. sent label")]
    assert after == "echo: thanks, and my refund?"
    assert back["text"].startswith("You're back with Shopdesk's assistant")
    # Once the bot has answered again, the customer is asked to rate the agent's help.
    assert rating["text"] == RATING_QUESTION
    assert thanks.startswith("Thank you for your rating")
    assert len(engine.calls) == 2  # the rating never reached the bot


def test_closing_asks_for_a_rating_which_is_stored(
    client: TestClient, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    _login(client)
    client.put("/api/console/me/status", json={"status": "available"})
    with client.websocket_connect("/ws/chat") as customer:
        _queue_customer(client, session_factory, customer)
        [entry] = client.get("/api/console/queue").json()["waiting"]
        client.post(f"/api/console/handoffs/{entry['id']}/take")
        _frames_until(customer, "system")
        closed = client.post(
            f"/api/console/handoffs/{entry['id']}/close", json={"resolution": "refund_issued"}
        )
        question = _frames_until(customer, "system")[-1]["message"]
        _say(customer, "rating-0001", "5")
        thanks = _frames_until(customer, "system")[-1]["message"]["text"]

    assert closed.json()["state"] == "closed"
    assert question["text"] == RATING_QUESTION
    assert [b["title"] for b in question["buttons"]] == ["1", "2", "3", "4", "5"]
    assert thanks.startswith("Thank you for your rating")
    database = sa.create_engine(database_url)
    with database.connect() as db:
        assert db.execute(sa.text("SELECT score FROM ratings")).scalars().all() == [5]
    database.dispose()


def test_a_second_take_is_refused(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _login(client)
    with client.websocket_connect("/ws/chat") as customer:
        _queue_customer(client, session_factory, customer)
        [entry] = client.get("/api/console/queue").json()["waiting"]
        first = client.post(f"/api/console/handoffs/{entry['id']}/take")
        second = client.post(f"/api/console/handoffs/{entry['id']}/take")

    assert (first.status_code, second.status_code) == (200, 409)


def test_a_queued_customer_can_keep_waiting_leave_a_message_or_go_back_to_the_bot(
    client: TestClient, engine: ScriptedEngine, session_factory: sessionmaker[Session]
) -> None:
    _login(client)
    with client.websocket_connect("/ws/chat") as customer:
        conversation_id = _queue_customer(client, session_factory, customer)
        _say(customer, "choice-0001", KEEP_WAITING)
        waiting = _frames_until(customer, "system")[-1]["message"]
        _say(customer, "choice-0002", LEAVE_MESSAGE)
        prompt = _frames_until(customer, "system")[-1]["message"]["text"]
        _say(customer, "note-000001", "Call me after 6pm about order 100245 please")
        confirmed = _frames_until(customer, "system")[-1]["message"]["text"]
        callbacks = client.get("/api/console/callbacks").json()
        _say(customer, "after-00001", "where is my order?")
        bot = _frames_until(customer, "bot")[-1]["message"]["text"]

    # No agent is online: the customer hears it plainly and gets the choices.
    assert "No agent is available right now" in waiting["text"]
    assert [b["title"] for b in waiting["buttons"]] == [KEEP_WAITING, LEAVE_MESSAGE, CARRY_ON]
    assert "best time and number to call" in prompt
    assert "call-back request CB-" in confirmed
    assert [c["message"] for c in callbacks] == ["Call me after 6pm about order 100245 please"]
    assert bot == "echo: where is my order?"
    assert engine.resumed[0][0] == conversation_id
    assert client.get("/api/console/queue").json()["waiting"] == []


def test_knowledge_articles_can_be_found_for_a_reply(client: TestClient) -> None:
    _login(client)

    articles = client.post("/api/console/knowledge", json={"q": "when will my card refund arrive"})

    assert articles.status_code == 200
    assert articles.json()[0]["id"] == "refund-timeline"


def test_the_knowledge_query_stays_out_of_the_url(client: TestClient) -> None:
    """It often quotes the customer, and URLs end up in access logs."""
    _login(client)

    in_the_url = client.get("/api/console/knowledge", params={"q": "refund for Li Wei"})
    operations = client.app.openapi()["paths"]["/api/console/knowledge"]  # type: ignore[attr-defined]

    assert in_the_url.status_code == 405
    assert set(operations) == {"post"}
    assert [p["in"] for p in operations["post"]["parameters"]] == ["cookie"]
    assert "q" in str(operations["post"]["requestBody"])


@pytest.mark.parametrize(
    "body",
    [{"q": " "}, {"q": ""}, {"q": "x" * 501}, {}, {"q": 5}, {"q": "refund", "extra": 1}, None],
)
def test_a_knowledge_query_out_of_shape_gets_a_clear_422(
    client: TestClient, body: dict[str, Any] | None
) -> None:
    _login(client)

    answer = client.post("/api/console/knowledge", json=body)

    assert answer.status_code == 422
    assert answer.json() == {
        "detail": 'body must be JSON like {"q": "..."}, with 1 to 500 characters in q'
    }


def test_a_knowledge_query_of_500_characters_is_taken(client: TestClient) -> None:
    _login(client)

    assert client.post("/api/console/knowledge", json={"q": "é" * 500}).status_code == 200


@pytest.mark.parametrize(
    ("base_url", "cookie_secure", "secure"),
    [
        ("https://testserver", "auto", True),
        ("http://testserver", "auto", False),
        ("http://testserver", "always", True),
        ("https://testserver", "never", False),
    ],
)
def test_the_session_cookie_is_secure_when_served_over_https(
    database_url: str,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
    base_url: str,
    cookie_secure: str,
    secure: bool,
) -> None:
    settings = _settings(database_url, cookie_secure=cookie_secure)
    with _gateway(settings, engine, session_factory, base_url=base_url) as client:
        login = client.post("/api/console/login", json={"username": "mei", "password": PASSWORD})
        # Sent by hand: the client itself rightly keeps a Secure cookie off plain HTTP.
        token = login.cookies["shopdesk_agent"]
        logout = client.post("/api/console/logout", headers={"cookie": f"shopdesk_agent={token}"})

    set_cookie = login.headers["set-cookie"].lower().split("; ")
    removed = logout.headers["set-cookie"].lower().split("; ")
    assert ("secure" in set_cookie, "secure" in removed) == (secure, secure)
    assert {"httponly", "samesite=strict"} <= set(set_cookie)


def test_only_the_chat_page_may_be_framed(
    database_url: str, engine: ScriptedEngine, session_factory: sessionmaker[Session]
) -> None:
    """The widget frames `/`; the console, framed by a hostile page, could be clickjacked."""
    settings = _settings(database_url, webchat_frame_ancestors="https://shop.example")
    with _gateway(settings, engine, session_factory) as client:
        chat = client.get("/", params={"embed": "1"})
        others = {
            path: client.get(path)
            for path in (
                "/console",
                "/static/console/main.js",
                "/static/chat.js",
                "/api/console/me",
                "/widget.js",
                "/healthz",
                "/docs",
                "/no-such-page",
            )
        }

    assert "frame-ancestors https://shop.example" in chat.headers["content-security-policy"]
    assert "x-frame-options" not in chat.headers
    for path, answer in others.items():
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy, path
        assert "shop.example" not in policy, path
        assert answer.headers["x-frame-options"] == "DENY", path


def test_the_console_knows_the_members_role_and_a_disabled_member_is_out_at_once(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _login(client)
    with session_factory.begin() as session:
        set_role(session, username="mei", role="ops")

    assert client.get("/api/console/me").json()["role"] == "ops"

    with session_factory.begin() as session:
        disable(session, username="mei")

    assert client.get("/api/console/me").status_code == 401
    relogin = client.post("/api/console/login", json={"username": "mei", "password": PASSWORD})
    assert relogin.status_code == 401
    assert relogin.json() == {"detail": "wrong username or password"}


def test_agents_see_each_active_incident_and_what_customers_are_told(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    """The same registry as the bot's delay answers: a change shows on the next read."""
    _login(client)
    assert client.get("/api/console/queue").json()["incidents"] == []
    with session_factory.begin() as session:
        declared = declare_incident(session, draft=DRAFT, author=Author("Mei"))
    queue = client.get("/api/console/queue").json()
    [shown] = queue["incidents"]
    assert (shown["id"], shown["title"], shown["scope"], shown["customer_note"]) == (
        declared.id,
        DRAFT.title,
        "Hubei (Wuhan); SF Express",
        DRAFT.customer_note,
    )
    assert queue["surge"]["reasons"] == ["active incident"]
    with session_factory.begin() as session:
        change_incident(
            session,
            incident_id=declared.id,
            change=IncidentChange(status=IncidentStatus.RESOLVED),
            author=Author("Mei"),
        )
    assert client.get("/api/console/queue").json()["incidents"] == []
