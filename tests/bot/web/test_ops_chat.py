"""The staff's console routes: the Ops chat and Telegram linking, route by route, with a
scripted engine and the fake Bot API (so the gateway runs its Telegram channel)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.engine import BotReply
from bot.handoff.agents import disable, set_role
from bot.handoff.passwords import hash_password
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.ops_tables import StaffChatLink, StaffLinkCode
from bot.storage.staff_links import CODE_ALPHABET, redeem_link_code
from bot.storage.tables import Agent, Conversation, Message
from bot.web.app import create_app
from tests.support.engines import ScriptedEngine
from tests.support.fake_telegram import FakeTelegram
from tests.support.telegram_gateway import telegram_settings, wait_for

PASSWORD = "correct horse battery"
OWN_ORIGIN = "http://testserver"
CHOICES = [
    {"title": "Active incidents", "payload": "/ops_incidents"},
    {"title": "The queue", "payload": "how is the queue?"},
]
# Every route of this module: each refuses without a session and refuses an agent.
ROUTES = {
    ("get", "/api/console/ops-chat"),
    ("post", "/api/console/ops-chat/messages"),
    ("post", "/api/console/ops-chat/buttons"),
    ("get", "/api/console/telegram-link"),
    ("post", "/api/console/telegram-link/code"),
    ("delete", "/api/console/telegram-link"),
}
BODIES: dict[str, Any] = {
    "/api/console/ops-chat/messages": {"text": "what's going on?"},
    "/api/console/ops-chat/buttons": {"message_id": 1, "index": 0},
}


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def engine() -> ScriptedEngine:
    def answer(text: str) -> list[BotReply]:
        if "going on" in text:
            return [BotReply("Two incidents are active.", list(CHOICES))]  # type: ignore[arg-type]
        return [BotReply(f"echo: {text}")]

    return ScriptedEngine(answer=answer)


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    database = make_engine(database_url)
    yield make_session_factory(database)
    database.dispose()


def _gateway(settings: Settings, engine: ScriptedEngine) -> TestClient:
    return TestClient(create_app(settings, engine=engine))


@functools.cache
def _password_hash() -> str:
    """One Argon2 hash (64 MiB, a fraction of a second) for every member of every test."""
    return hash_password(PASSWORD)


def _staff(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        for username, name, role in [
            ("mei", "Mei Lin", "ops"),
            ("chen", "Chen Jing", "manager"),
            ("ana", "Ana", "agent"),
        ]:
            session.add(
                Agent(
                    username=username, display_name=name, password_hash=_password_hash(), role=role
                )
            )


def _settings(database_url: str, telegram: FakeTelegram, **changes: Any) -> Settings:
    return telegram_settings(database_url, telegram, queue_update_seconds=3600, **changes)


@pytest.fixture
def client(
    database_url: str,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> Iterator[TestClient]:
    with _gateway(_settings(database_url, telegram), engine) as client:
        wait_for(lambda: telegram.calls("getUpdates"), "the gateway to poll the fake Bot API")
        _staff(session_factory)
        yield client


def _login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    answer = client.post("/api/console/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text


def _call(client: TestClient, method: str, path: str) -> int:
    return client.request(method, path, json=BODIES.get(path)).status_code


def _count(session_factory: sessionmaker[Session], table: type[Any]) -> int:
    with session_factory() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def test_the_routes_are_the_ones_tested_here(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    staff_routes = {
        (method, path)
        for path, operations in paths.items()
        if path.startswith(("/api/console/ops-chat", "/api/console/telegram-link"))
        for method in operations
    }

    assert staff_routes == ROUTES


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_every_route_refuses_without_a_session(
    client: TestClient, session_factory: sessionmaker[Session], method: str, path: str
) -> None:
    answer = client.request(method, path, json=BODIES.get(path))

    assert answer.status_code == 401
    assert answer.json()["detail"].startswith("log in first")
    assert _count(session_factory, Conversation) == _count(session_factory, StaffLinkCode) == 0


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_every_route_refuses_an_agent(
    client: TestClient,
    session_factory: sessionmaker[Session],
    engine: ScriptedEngine,
    method: str,
    path: str,
) -> None:
    _login(client, "ana")

    answer = client.request(method, path, json=BODIES.get(path))

    assert answer.status_code == 403
    assert answer.json() == {"detail": "the Ops chat and Telegram linking are for ops and managers"}
    assert _count(session_factory, Conversation) == _count(session_factory, StaffLinkCode) == 0
    assert engine.calls == []


@pytest.mark.parametrize("username", ["mei", "chen"])
def test_ops_and_managers_may_use_every_route(client: TestClient, username: str) -> None:
    _login(client, username)
    sent = client.post("/api/console/ops-chat/messages", json={"text": "what's going on?"})
    [*_, reply] = sent.json()["messages"]

    answers = {
        "read": client.get("/api/console/ops-chat").status_code,
        "send": sent.status_code,
        "press": client.post(
            "/api/console/ops-chat/buttons", json={"message_id": reply["id"], "index": 1}
        ).status_code,
        "link": client.get("/api/console/telegram-link").status_code,
        "code": client.post("/api/console/telegram-link/code").status_code,
        "unlink": client.delete("/api/console/telegram-link").status_code,
    }

    assert answers == {
        "read": 200,
        "send": 200,
        "press": 200,
        "link": 200,
        "code": 201,
        "unlink": 204,
    }


def test_the_ops_chat_is_answered_through_the_relay_with_the_members_role(
    client: TestClient, engine: ScriptedEngine, session_factory: sessionmaker[Session]
) -> None:
    _login(client, "mei")
    empty = client.get("/api/console/ops-chat").json()

    sent = client.post("/api/console/ops-chat/messages", json={"text": "what's going on?"}).json()
    history = client.get("/api/console/ops-chat").json()

    assert empty == {"conversation_id": None, "messages": []}
    assert [(m["sender"], m["text"]) for m in sent["messages"]] == [
        ("customer", "what's going on?"),
        ("bot", "Two incidents are active."),
    ]
    assert sent["messages"][1]["buttons"] == CHOICES
    assert history == sent
    [call] = engine.calls
    assert call.conversation_id == sent["conversation_id"]
    assert (call.metadata["channel"], call.metadata["role"]) == ("console", "ops")
    assert call.metadata["staff_name"] == "Mei Lin"
    with session_factory() as session:
        conversation = session.get(Conversation, sent["conversation_id"])
        states = session.scalars(sa.select(Message.delivery_state).order_by(Message.id)).all()
    assert conversation is not None and conversation.staff_id == call.metadata["staff_id"]
    assert states == ["processed", "delivered"]  # the page has shown the reply


def test_typed_slash_text_stays_text_but_a_pressed_button_is_its_payload(
    client: TestClient, engine: ScriptedEngine
) -> None:
    _login(client, "mei")
    sent = client.post("/api/console/ops-chat/messages", json={"text": "what's going on?"}).json()
    offered = sent["messages"][-1]["id"]

    typed = client.post("/api/console/ops-chat/messages", json={"text": "/ops_incidents"})
    pressed = client.post(
        "/api/console/ops-chat/buttons", json={"message_id": offered, "index": 0}
    ).json()

    assert typed.status_code == 200
    assert [call.text for call in engine.calls] == [
        "what's going on?",
        "/ops_incidents",  # typed, equal to a payload the bot offered: the same as pressing it
        "/ops_incidents",
    ]
    assert [(m["sender"], m["text"]) for m in pressed["messages"]] == [
        ("customer", "/ops_incidents"),
        ("bot", "echo: /ops_incidents"),
    ]


def test_typed_slash_text_is_text_when_no_button_offered_it(
    client: TestClient, engine: ScriptedEngine
) -> None:
    _login(client, "mei")

    client.post("/api/console/ops-chat/messages", json={"text": "/ops_incidents"})

    assert [call.text for call in engine.calls] == ["\u200b/ops_incidents"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"message_id": 10_000, "index": 0}, 404, "that button is not in your Ops chat"),
        ({"message_id": "OFFERED", "index": 7}, 404, "that button is not in your Ops chat"),
        ({"message_id": "OFFERED", "index": -1}, 422, "body must be JSON like"),
        ({"message_id": "OFFERED"}, 422, "body must be JSON like"),
        ({"message_id": "12", "index": 0}, 422, "body must be JSON like"),
        ({"message_id": "OFFERED", "index": 0, "text": "x"}, 422, "body must be JSON like"),
        (None, 422, "body must be JSON like"),
    ],
)
def test_a_bad_button_press_is_refused_clearly(
    client: TestClient, engine: ScriptedEngine, body: Any, status: int, detail: str
) -> None:
    _login(client, "mei")
    sent = client.post("/api/console/ops-chat/messages", json={"text": "what's going on?"}).json()
    if isinstance(body, dict) and body.get("message_id") == "OFFERED":
        body["message_id"] = sent["messages"][-1]["id"]

    answer = client.post("/api/console/ops-chat/buttons", json=body)

    assert answer.status_code == status
    assert answer.json()["detail"].startswith(detail)
    assert len(engine.calls) == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"text": "   "}, "text must not be empty"),
        ({"text": "x" * 2001}, "text is longer than 2000 characters"),
        ({"text": "a\x00b"}, "text must not contain control characters"),
        ({}, "text is required"),
        ({"text": 5}, "text must be a string"),
    ],
)
def test_a_bad_text_is_refused_clearly_and_not_stored(
    client: TestClient,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
    body: dict[str, Any],
    detail: str,
) -> None:
    _login(client, "mei")

    answer = client.post("/api/console/ops-chat/messages", json=body)

    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(detail)
    assert engine.calls == [] and _count(session_factory, Message) == 0


def test_a_huge_body_is_refused_before_it_is_read(client: TestClient) -> None:
    _login(client, "mei")

    answer = client.post(
        "/api/console/ops-chat/messages",
        content=b'{"text": "' + b"x" * 20_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )

    assert answer.status_code == 413


def test_a_member_sees_and_presses_only_their_own_ops_chat(
    client: TestClient, engine: ScriptedEngine
) -> None:
    _login(client, "mei")
    meis = client.post("/api/console/ops-chat/messages", json={"text": "what's going on?"}).json()
    _login(client, "chen")

    chens_view = client.get("/api/console/ops-chat").json()
    pressed = client.post(
        "/api/console/ops-chat/buttons",
        json={"message_id": meis["messages"][-1]["id"], "index": 0},
    )
    chens = client.post("/api/console/ops-chat/messages", json={"text": "hello"}).json()

    assert chens_view == {"conversation_id": None, "messages": []}
    assert pressed.status_code == 404
    assert chens["conversation_id"] != meis["conversation_id"]
    assert [m["text"] for m in chens["messages"]] == ["hello", "echo: hello"]
    assert [call.text for call in engine.calls] == ["what's going on?", "hello"]


def test_a_member_cannot_unlink_another_members_chat(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _login(client, "mei")
    code = client.post("/api/console/telegram-link/code").json()["code"]
    with session_factory.begin() as session:
        assert redeem_link_code(session, code=code, channel="telegram", external_id="7001")
    _login(client, "chen")

    chens_link = client.get("/api/console/telegram-link").json()
    chens_unlink = client.delete("/api/console/telegram-link")
    _login(client, "mei")
    meis_link = client.get("/api/console/telegram-link").json()

    assert chens_link["linked"] is False and chens_unlink.status_code == 204
    assert meis_link["linked"] is True and meis_link["linked_at"]
    assert _count(session_factory, StaffChatLink) == 1


def test_a_link_code_is_shown_once_with_the_bots_name(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _login(client, "mei")

    first = client.post("/api/console/telegram-link/code")
    second = client.post("/api/console/telegram-link/code")
    link = client.get("/api/console/telegram-link").json()

    body = second.json()
    assert first.status_code == second.status_code == 201
    assert second.headers["cache-control"] == "no-store"
    assert len(body["code"]) == 8 and set(body["code"]) <= set(CODE_ALPHABET)
    assert body["code"] != first.json()["code"]
    assert body["instruction"] == (
        f"Send /link {body['code']} to @shopdesk_test_bot within 10 minutes."
    )
    assert body["bot_username"] == "shopdesk_test_bot"
    assert link == {
        "telegram": True,
        "bot_username": "shopdesk_test_bot",
        "linked": False,
        "linked_at": None,
    }
    assert _count(session_factory, StaffLinkCode) == 1  # the new code replaced the first


def test_a_role_change_or_a_disable_counts_from_the_next_request(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _login(client, "mei")
    assert client.get("/api/console/ops-chat").status_code == 200

    with session_factory.begin() as session:
        set_role(session, username="mei", role="agent")
    demoted = client.get("/api/console/ops-chat").status_code
    with session_factory.begin() as session:
        set_role(session, username="mei", role="ops")
        disable(session, username="mei")
    disabled = client.get("/api/console/ops-chat").status_code

    assert (demoted, disabled) == (403, 401)


def test_ops_chat_messages_share_the_message_limit(
    database_url: str,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> None:
    settings = _settings(database_url, telegram, client_messages_limit=2)
    with _gateway(settings, engine) as client:
        _staff(session_factory)
        _login(client, "mei")
        answers = [
            client.post("/api/console/ops-chat/messages", json={"text": f"hello {n}"})
            for n in range(3)
        ]
        press = client.post("/api/console/ops-chat/buttons", json={"message_id": 1, "index": 0})

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["retry-after"]) >= 1
    assert press.status_code == 429
    assert [call.text for call in engine.calls] == ["hello 0", "hello 1"]


def test_reads_and_link_changes_are_limited_per_member(
    database_url: str,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> None:
    settings = _settings(database_url, telegram, client_frames_per_minute=10)
    with _gateway(settings, engine) as client:
        _staff(session_factory)
        _login(client, "mei")
        reads = [client.get("/api/console/ops-chat").status_code for _ in range(11)]
        changes = [client.post("/api/console/telegram-link/code").status_code for _ in range(10)]
        changes.append(client.delete("/api/console/telegram-link").status_code)
        _login(client, "chen")
        chens = client.get("/api/console/telegram-link").status_code

    assert reads == [200] * 10 + [429]
    assert changes == [201] * 10 + [429]
    assert chens == 200  # counted per member


def test_without_telegram_there_is_no_code_to_make(
    database_url: str,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> None:
    settings = _settings(database_url, telegram, telegram_token=SecretStr(""))
    with _gateway(settings, engine) as client:
        _staff(session_factory)
        _login(client, "mei")
        code = client.post("/api/console/telegram-link/code")
        link = client.get("/api/console/telegram-link").json()

    assert code.status_code == 409
    assert "Telegram is not connected" in code.json()["detail"]
    assert (link["telegram"], link["bot_username"]) == (False, None)
    assert _count(session_factory, StaffLinkCode) == 0


def test_a_reply_made_later_reaches_the_members_console(
    client: TestClient, engine: ScriptedEngine
) -> None:
    """A message kept while the engine was down is answered by the replayer; the member's
    console hears of it and reads the chat again."""
    _login(client, "mei")
    engine.down = True
    kept = client.post("/api/console/ops-chat/messages", json={"text": "hello"}).json()

    with client.websocket_connect("/ws/console", headers={"origin": OWN_ORIGIN}) as console:
        engine.down = False
        event = console.receive_json()
    deadline = time.monotonic() + 10
    while True:
        history = client.get("/api/console/ops-chat").json()
        if len(history["messages"]) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)

    assert [m["sender"] for m in kept["messages"]] == ["customer", "system"]
    assert event == {"type": "ops_chat", "conversation_id": kept["conversation_id"]}
    assert [m["text"] for m in history["messages"]][2] == "echo: hello"
