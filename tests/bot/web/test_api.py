"""The chat API as a client sees it, with the database checked behind it."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.channels.engine import BotReply, EngineTurn, EngineUnavailable
from bot.channels.relay import ENGINE_DOWN_REPLY
from bot.settings import Settings
from bot.storage.tables import Button
from bot.web.app import DATABASE_AWAY, create_app

BUTTONS: list[Button] = [{"title": "Track my order", "payload": "/order_status"}]
EMAIL_TEXT = "Hi, my email is li.wei@example.com"
NO_BEARER = "missing or malformed Authorization header; send 'Authorization: Bearer <token>'"
BODY_SHAPE = 'body must be JSON like {"text": "..."}'
CONTROL = "text must not contain control characters other than newline and tab"
TOO_LARGE = "body is larger than 25024 bytes; text may have at most 2000 characters"
SURROGATE = "text must not contain unpaired surrogate characters"
JSON = {"Content-Type": "application/json"}
TEXT_PLAIN = {"Content-Type": "text/plain"}


@dataclass
class FakeEngine:
    """Greets back; `down` makes it behave like an unreachable Rasa."""

    down: bool = False
    calls: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)

    async def send(
        self, *, conversation_id: str, text: str, metadata: dict[str, object]
    ) -> EngineTurn:
        self.calls.append((conversation_id, text, metadata))
        if self.down:
            raise EngineUnavailable("engine unreachable (ConnectError)")
        return EngineTurn(
            [BotReply(text="Hello! How can I help?"), BotReply("Choose:", list(BUTTONS))]
        )

    async def ready(self) -> bool:
        return not self.down

    async def resume(self, *, conversation_id: str, outcome: str) -> None:
        return None


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def client(database_url: str, engine: FakeEngine) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        max_message_chars=2000,
    )
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as client:
        yield client


def _stored_messages(db: sa.Connection) -> list[tuple[object, ...]]:
    db.rollback()  # a fresh snapshot
    columns = "conversation_id, direction, sender, text, channel, delivery_state"
    rows = db.execute(sa.text(f"SELECT {columns} FROM messages ORDER BY created_at, id"))
    return [tuple(row) for row in rows]


def _start(client: TestClient) -> tuple[str, dict[str, str]]:
    response = client.post("/api/conversations")
    assert response.status_code == 201
    body = response.json()
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


def _say(
    client: TestClient, conversation_id: str, auth: dict[str, str], text: str
) -> tuple[int, Any]:
    """Posts one customer message; returns the status and the JSON body."""
    url = f"/api/conversations/{conversation_id}/messages"
    response = client.post(url, json={"text": text}, headers=auth)
    return response.status_code, response.json()


def test_health_check_reports_ok(client: TestClient) -> None:
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_new_conversation_keeps_only_a_token_hash(client: TestClient, db: sa.Connection) -> None:
    response = client.post("/api/conversations")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "token"}
    row = db.execute(sa.text("SELECT id, token_hash, channel, state FROM conversations")).one()
    token_hash = hashlib.sha256(body["token"].encode()).hexdigest()
    assert tuple(row) == (body["id"], token_hash, "api", "bot")


def test_a_message_is_answered_and_both_sides_are_stored(
    client: TestClient, engine: FakeEngine, db: sa.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    conversation_id, auth = _start(client)

    status, body = _say(client, conversation_id, auth, EMAIL_TEXT)

    assert status == 200
    assert body == {
        "messages": [
            {"text": "Hello! How can I help?", "buttons": []},
            {"text": "Choose:", "buttons": BUTTONS},
        ]
    }
    metadata = {
        "channel": "api",
        "conversation_id": conversation_id,
        "role": "customer",
        "client": "ip:unknown",  # TestClient's peer is "testclient", not an address
        "report_intent": True,  # the desk's topic of this contact is not known yet
    }
    [(called_id, called_text, called_metadata)] = engine.calls
    db.rollback()
    stored_id = db.execute(sa.text("SELECT id FROM messages WHERE direction = 'in'")).scalar_one()
    # The stored message's id: an engine that already took it in repeats its answer.
    assert called_metadata.pop("gateway_message_id") == stored_id
    assert (called_id, called_text, called_metadata) == (conversation_id, EMAIL_TEXT, metadata)
    assert _stored_messages(db) == [
        (conversation_id, "in", "customer", EMAIL_TEXT, "api", "processed"),
        (conversation_id, "out", "bot", "Hello! How can I help?", "api", "delivered"),
        (conversation_id, "out", "bot", "Choose:", "api", "delivered"),
    ]
    assert "li.wei@example.com" not in caplog.text
    assert auth["Authorization"].removeprefix("Bearer ") not in caplog.text


def test_an_unreachable_engine_gets_an_honest_reply_and_a_pending_message(
    client: TestClient, engine: FakeEngine, db: sa.Connection
) -> None:
    engine.down = True
    conversation_id, auth = _start(client)

    answer = _say(client, conversation_id, auth, "hello?")

    assert answer == (200, {"messages": [{"text": ENGINE_DOWN_REPLY, "buttons": []}]})
    assert _stored_messages(db) == [
        (conversation_id, "in", "customer", "hello?", "api", "pending"),
        (conversation_id, "out", "system", ENGINE_DOWN_REPLY, "api", "delivered"),
    ]


@pytest.mark.parametrize(
    "headers",
    [{}] + [{"Authorization": value} for value in ("Basic dXNlcjpwYXNz", "Bearer", "t")],
    ids=["missing", "basic", "empty-bearer", "no-scheme"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_without_a_bearer_token_nothing_happens(
    client: TestClient, engine: FakeEngine, db: sa.Connection, headers: dict[str, str], method: str
) -> None:
    conversation_id, _ = _start(client)
    url = f"/api/conversations/{conversation_id}/messages"

    response = client.request(method, url, json={"text": "hello"}, headers=headers)

    assert (response.status_code, response.json()) == (401, {"detail": NO_BEARER})
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert engine.calls == []
    assert _stored_messages(db) == []


def test_another_conversations_token_gets_nothing(
    client: TestClient, engine: FakeEngine, db: sa.Connection
) -> None:
    victim_id, victim_auth = _start(client)
    _say(client, victim_id, victim_auth, "secret")
    _, intruder_auth = _start(client)
    stored_before = _stored_messages(db)

    posted = _say(client, victim_id, intruder_auth, "hello")
    read = client.get(f"/api/conversations/{victim_id}/messages", headers=intruder_auth)

    forbidden = {"detail": "this token does not give access to this conversation"}
    assert posted == (403, forbidden)
    assert (read.status_code, read.json()) == (403, forbidden)
    assert len(engine.calls) == 1
    assert _stored_messages(db) == stored_before


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unknown_conversation_is_not_found(
    client: TestClient, engine: FakeEngine, db: sa.Connection, method: str
) -> None:
    _, auth = _start(client)
    url = "/api/conversations/0123456789abcdef/messages"

    response = client.request(method, url, json={"text": "hi"}, headers=auth)

    assert (response.status_code, response.json()) == (404, {"detail": "conversation not found"})
    assert engine.calls == []
    assert _stored_messages(db) == []


UNACCEPTABLE: dict[str, tuple[dict[str, Any], str]] = {
    "empty": ({"json": {"text": ""}}, "text must not be empty"),
    "whitespace": ({"json": {"text": "  \n\t "}}, "text must not be empty"),
    "too-long": ({"json": {"text": "x" * 2001}}, "text is longer than 2000 characters"),
    "nul": ({"json": {"text": "nul \x00 byte"}}, CONTROL),
    "escape-sequence": ({"json": {"text": "\x1b[2J clear screen"}}, CONTROL),
    "lone-surrogate": ({"content": b'{"text": "\\ud83d"}', "headers": JSON}, SURROGATE),
    "number": ({"json": {"text": 42}}, "text must be a string"),
    "null": ({"json": {"text": None}}, "text must be a string"),
    "list": ({"json": {"text": ["a"]}}, "text must be a string"),
    "no-fields": ({"json": {}}, "text is required"),
    "wrong-field": ({"json": {"message": "hi"}}, "text is required"),
    "extra-field": ({"json": {"text": "hi", "x": 1}}, f'unexpected field "x"; {BODY_SHAPE}'),
    "array-body": ({"json": ["hi"]}, BODY_SHAPE),
    "string-body": ({"json": "hi"}, BODY_SHAPE),
    "malformed-json": ({"content": b'{"text": "hi"', "headers": JSON}, BODY_SHAPE),
    "binary": ({"content": b"\xff\xfe\x00binary", "headers": JSON}, BODY_SHAPE),
    "text-plain": ({"content": b'{"text": "hi"}', "headers": TEXT_PLAIN}, BODY_SHAPE),
    "no-body": ({}, BODY_SHAPE),
    "huge-body": ({"json": {"text": "hi", "padding": "x" * 30_000}}, TOO_LARGE),
}


@pytest.mark.parametrize(("body", "detail"), list(UNACCEPTABLE.values()), ids=list(UNACCEPTABLE))
def test_unacceptable_bodies_are_explained_and_nothing_is_stored(
    client: TestClient, engine: FakeEngine, db: sa.Connection, body: dict[str, Any], detail: str
) -> None:
    conversation_id, auth = _start(client)
    kwargs = dict(body)  # shared by the SQLite and PostgreSQL runs
    url = f"/api/conversations/{conversation_id}/messages"

    response = client.post(url, headers={**auth, **kwargs.pop("headers", {})}, **kwargs)

    assert (response.status_code, response.json()) == (422, {"detail": detail})
    assert engine.calls == []
    assert _stored_messages(db) == []


def test_a_huge_chunked_body_without_a_length_is_refused(
    client: TestClient, engine: FakeEngine, db: sa.Connection
) -> None:
    conversation_id, auth = _start(client)
    chunks = iter([b'{"text": "', *([b"x" * 1000] * 100), b'"}'])

    url = f"/api/conversations/{conversation_id}/messages"
    response = client.post(url, content=chunks, headers={**auth, **JSON})

    assert "content-length" not in {name.lower() for name in response.request.headers}
    assert (response.status_code, response.json()) == (422, {"detail": TOO_LARGE})
    assert engine.calls == []
    assert _stored_messages(db) == []


def test_the_transcript_lists_every_message_of_the_conversation(
    client: TestClient, engine: FakeEngine
) -> None:
    conversation_id, auth = _start(client)
    other_id, other_auth = _start(client)
    _say(client, conversation_id, auth, "/start")
    _say(client, other_id, other_auth, "other")
    engine.down = True
    _say(client, conversation_id, auth, "still there?")

    response = client.get(f"/api/conversations/{conversation_id}/messages", headers=auth)

    assert response.status_code == 200
    messages = response.json()["messages"]
    fields = ("direction", "sender", "text", "buttons", "delivery_state")
    assert [tuple(m[f] for f in fields) for m in messages] == [
        ("in", "customer", "/start", [], "processed"),
        ("out", "bot", "Hello! How can I help?", [], "delivered"),
        ("out", "bot", "Choose:", BUTTONS, "delivered"),
        ("in", "customer", "still there?", [], "pending"),
        ("out", "system", ENGINE_DOWN_REPLY, [], "delivered"),
    ]
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)
    times = [datetime.fromisoformat(m["created_at"]) for m in messages]
    assert times == sorted(times) and all(t.utcoffset() == timedelta(0) for t in times)


def test_an_unexpected_failure_is_a_plain_500(
    client: TestClient, db: sa.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    conversation_id, auth = _start(client)
    db.execute(sa.text("DROP TABLE messages"))
    db.commit()

    answer = _say(client, conversation_id, auth, "call me on 13800001234")

    assert answer == (500, {"detail": "internal error"})
    assert "unhandled" in caplog.text
    assert "13800001234" not in caplog.text


def test_kept_messages_are_answered_by_the_replayer_when_the_engine_returns(
    database_url: str, db: sa.Connection
) -> None:
    engine = FakeEngine(down=True)
    settings = Settings(
        database_url=database_url, engine_channel_token=SecretStr("t"), replay_interval_seconds=0.1
    )
    with TestClient(create_app(settings, engine=engine)) as client:
        conversation_id, auth = _start(client)
        _say(client, conversation_id, auth, "anyone there?")
        engine.down = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(_stored_messages(db)) < 4:
            time.sleep(0.05)

    assert _stored_messages(db) == [
        (conversation_id, "in", "customer", "anyone there?", "api", "processed"),
        (conversation_id, "out", "system", ENGINE_DOWN_REPLY, "api", "delivered"),
        # Stored for the client, which reads them with GET .../messages.
        (conversation_id, "out", "bot", "Hello! How can I help?", "api", "queued"),
        (conversation_id, "out", "bot", "Choose:", "api", "queued"),
    ]


def test_an_idle_conversation_is_closed_and_refuses_more_messages(
    database_url: str, engine: FakeEngine, db: sa.Connection
) -> None:
    settings = Settings(
        database_url=database_url, engine_channel_token=SecretStr("t"), conversation_idle_minutes=30
    )
    with TestClient(create_app(settings, engine=engine)) as client:
        conversation_id, auth = _start(client)
        _say(client, conversation_id, auth, "hi")
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        db.execute(sa.text("UPDATE conversations SET last_activity_at = :t"), {"t": an_hour_ago})
        db.commit()

        status, body = _say(client, conversation_id, auth, "still there?")

    assert status == 409
    assert body["detail"].startswith("this conversation has ended")
    assert len(engine.calls) == 1
    db.rollback()
    assert db.execute(sa.text("SELECT close_reason FROM conversations")).scalar() == "idle"
    # Refused, so not kept either: the client starts a new conversation with it.
    stored = db.execute(sa.text("SELECT text FROM messages WHERE direction = 'in'")).scalars()
    assert list(stored) == ["hi"]


def test_a_database_away_mid_request_is_a_retryable_503_and_nothing_is_stored(
    client: TestClient, db: sa.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id, auth = _start(client)

    def database_away(*args: object, **kwargs: object) -> None:
        raise sa.exc.OperationalError("INSERT ...", {}, ConnectionError("server closed"))

    url = f"/api/conversations/{conversation_id}/messages"
    monkeypatch.setattr("bot.channels.relay.store_and_load_turn", database_away)
    refused = client.post(url, json={"text": "where is my order?"}, headers=auth)

    assert (refused.status_code, refused.json()) == (503, {"detail": DATABASE_AWAY})
    assert refused.headers["Retry-After"] == "5"
    assert _stored_messages(db) == []
    monkeypatch.undo()
    retried = client.post(url, json={"text": "where is my order?"}, headers=auth)
    assert retried.status_code == 200
    assert [row[3] for row in _stored_messages(db)][:1] == ["where is my order?"]
