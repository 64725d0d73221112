"""The web chat's WebSocket protocol (docs/webchat-protocol.md), as a page speaks it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.testclient import WebSocketTestSession

from bot.channels.relay import ENGINE_DOWN_REPLY
from bot.channels.relay_store import store_customer_message
from bot.channels.session_tokens import issue_token
from bot.settings import Settings
from bot.web.app import create_app
from tests.support.engines import ScriptedEngine

SECRET = "test-webchat-secret"


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
def client(database_url: str, engine: ScriptedEngine) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        webchat_secret=SecretStr(SECRET),
        replay_interval_seconds=0.1,
    )
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def _receive_until(socket: WebSocketTestSession, kind: str, **match: Any) -> list[dict[str, Any]]:
    """Every frame up to and including the first of `kind` whose fields equal `match`."""
    frames: list[dict[str, Any]] = []
    while True:
        frame = socket.receive_json()
        frames.append(frame)
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frames


def _hello(
    socket: WebSocketTestSession, session: str | None = None, last_seen: int = 0
) -> dict[str, Any]:
    socket.send_json({"type": "hello", "session": session, "last_seen": last_seen})
    welcome: dict[str, Any] = socket.receive_json()
    assert welcome["type"] == "welcome", welcome
    return welcome


def _bot_texts(frames: list[dict[str, Any]]) -> list[str]:
    return [
        f["message"]["text"]
        for f in frames
        if f["type"] == "message" and f["message"]["sender"] != "customer"
    ]


def _say(socket: WebSocketTestSession, client_id: str, text: str) -> list[dict[str, Any]]:
    """Sends a message and reads until the bot has stopped typing."""
    socket.send_json({"type": "message", "client_id": client_id, "text": text})
    return _receive_until(socket, "typing", on=False)


def test_a_message_is_acknowledged_then_answered_with_typing_around_it(
    client: TestClient, engine: ScriptedEngine
) -> None:
    with client.websocket_connect("/ws/chat") as socket:
        welcome = _hello(socket)
        frames = _say(socket, "client-0001", "where is my order?")

    assert welcome["session"].startswith("v1.")
    assert welcome["idle_timeout_seconds"] == 1800
    kinds = [f["type"] for f in frames]
    assert kinds[0] == "ack" and kinds[-1] == "typing"
    assert kinds.index("typing") < kinds.index("message", 1)
    ack = frames[0]
    assert ack["client_id"] == "client-0001"
    assert ack["message"]["sender"] == "customer"
    assert ack["message"]["text"] == "where is my order?"
    assert _bot_texts(frames) == ["echo: where is my order?"]
    assert engine.calls[0].metadata["channel"] == "webchat"
    assert engine.calls[0].conversation_id == welcome["conversation_id"]


def test_a_reloaded_page_gets_its_conversation_back_and_a_resend_is_not_answered_twice(
    client: TestClient, engine: ScriptedEngine
) -> None:
    with client.websocket_connect("/ws/chat") as socket:
        welcome = _hello(socket)
        _say(socket, "client-0001", "hello")

    with client.websocket_connect("/ws/chat") as socket:
        again = _hello(socket, session=welcome["session"])
        history = [socket.receive_json() for _ in range(2)]
        socket.send_json({"type": "message", "client_id": "client-0001", "text": "hello"})
        ack = socket.receive_json()
        socket.send_json({"type": "ping"})
        assert socket.receive_json() == {"type": "pong"}

    assert again["conversation_id"] == welcome["conversation_id"]
    assert again["session"] == welcome["session"]
    assert [(f["message"]["sender"], f["message"]["text"]) for f in history] == [
        ("customer", "hello"),
        ("bot", "echo: hello"),
    ]
    assert ack["type"] == "ack" and ack["message"]["id"] == history[0]["message"]["id"]
    assert len(engine.calls) == 1


def test_only_what_the_page_missed_comes_back(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as socket:
        welcome = _hello(socket)
        frames = _say(socket, "client-0001", "one")
        last_seen = max(f["message"]["id"] for f in frames if f["type"] == "message")
        _say(socket, "client-0002", "two")

    with client.websocket_connect("/ws/chat") as socket:
        _hello(socket, session=welcome["session"], last_seen=last_seen)
        missed = [socket.receive_json() for _ in range(2)]

    assert [f["message"]["text"] for f in missed] == ["two", "echo: two"]


@pytest.mark.parametrize(
    "session",
    [
        "v1.AAAAAAAAAAAAAAAAAAAAAAAA.forged-signature",
        issue_token("another-secret", "AAAAAAAAAAAAAAAAAAAAAAAA"),
        "not a token",
        12345,
    ],
)
def test_a_forged_or_malformed_session_starts_a_fresh_one(
    client: TestClient, session: object
) -> None:
    with client.websocket_connect("/ws/chat") as socket:
        first = _hello(socket)
        _say(socket, "client-0001", "my secret order")

    with client.websocket_connect("/ws/chat") as socket:
        socket.send_json({"type": "hello", "session": session, "last_seen": 0})
        welcome = socket.receive_json()
        socket.send_json({"type": "ping"})
        after = socket.receive_json()

    assert welcome["type"] == "welcome"
    assert welcome["session"] not in (first["session"], session)
    assert welcome["conversation_id"] != first["conversation_id"]
    assert after == {"type": "pong"}  # no history of anyone else's conversation


@pytest.mark.parametrize(
    ("frame", "code", "detail"),
    [
        ("not json", "bad_frame", 'frames must be JSON objects with a "type"'),
        ("[1, 2]", "bad_frame", 'frames must be JSON objects with a "type"'),
        ('{"type": "shout"}', "bad_frame", "unknown frame type 'shout'"),
        ('{"type": "message", "client_id": "x", "text": "hi"}', "bad_frame",
         "client_id must be 8 to 64 characters of A-Z a-z 0-9 _ -"),
        ('{"type": "message", "client_id": "client-0009", "text": "   "}', "invalid_text",
         "text must not be empty"),
        ('{"type": "message", "client_id": "client-0009", "text": 7}', "invalid_text",
         "text must be a string"),
        ('{"type": "message", "client_id": "client-0009", "text": "a\\u0000b"}', "invalid_text",
         "text must not contain control characters other than newline and tab"),
        ('{"type": "delivered", "up_to": "all"}', "bad_frame",
         "up_to must be a non-negative integer"),
    ],
)  # fmt: skip
def test_bad_frames_get_a_clear_error_and_the_socket_stays_usable(
    client: TestClient, engine: ScriptedEngine, frame: str, code: str, detail: str
) -> None:
    with client.websocket_connect("/ws/chat") as socket:
        _hello(socket)
        socket.send_text(frame)
        error = socket.receive_json()
        frames = _say(socket, "client-0010", "still fine?")

    assert (error["type"], error["code"], error["detail"]) == ("error", code, detail)
    if code == "invalid_text":
        assert error["client_id"] == "client-0009"
    assert _bot_texts(frames) == ["echo: still fine?"]
    assert [call.text for call in engine.calls] == ["still fine?"]


def test_frames_before_hello_and_oversized_frames_are_refused(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as socket:
        socket.send_json({"type": "message", "client_id": "client-0001", "text": "hi"})
        early = socket.receive_json()
        _hello(socket)
        socket.send_text(
            json.dumps({"type": "message", "client_id": "client-0002", "text": "a" * 30_000})
        )
        huge = socket.receive_json()
        socket.send_json({"type": "message", "client_id": "client-0003", "text": "a" * 2001})
        long_text = socket.receive_json()

    assert (early["code"], early["detail"]) == ("hello_required", "send hello first")
    assert (huge["code"], huge["client_id"]) == ("frame_too_large", "client-0002")
    assert (long_text["code"], long_text["detail"]) == (
        "invalid_text",
        "text is longer than 2000 characters",
    )


def test_markup_is_stored_and_sent_back_as_plain_text(client: TestClient) -> None:
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    with client.websocket_connect("/ws/chat") as socket:
        _hello(socket)
        frames = _say(socket, "client-0001", payload)

    assert frames[0]["message"]["text"] == payload
    assert _bot_texts(frames) == [f"echo: {payload}"]


def test_delivered_marks_the_bot_messages_the_page_has_shown(
    client: TestClient, db: sa.Connection
) -> None:
    with client.websocket_connect("/ws/chat") as socket:
        _hello(socket)
        frames = _say(socket, "client-0001", "hi")
        bot_id = next(
            f["message"]["id"]
            for f in frames
            if f["type"] == "message" and f["message"]["sender"] == "bot"
        )
        socket.send_json({"type": "delivered", "up_to": bot_id})
        socket.send_json({"type": "ping"})
        socket.receive_json()

    db.rollback()
    state = db.execute(
        sa.text("SELECT delivery_state FROM messages WHERE id = :id"), {"id": bot_id}
    ).scalar()
    assert state == "delivered"


def test_an_idle_conversation_is_replaced_by_a_new_one(
    client: TestClient, engine: ScriptedEngine, db: sa.Connection
) -> None:
    with client.websocket_connect("/ws/chat") as socket:
        welcome = _hello(socket)
        _say(socket, "client-0001", "hi")
        db.execute(
            sa.text("UPDATE conversations SET last_activity_at = :t"),
            {"t": datetime.now(UTC) - timedelta(hours=1)},
        )
        db.commit()
        frames = _say(socket, "client-0002", "back again")

    notice = frames[0]
    assert notice["type"] == "conversation" and notice["reason"] == "idle"
    assert notice["conversation_id"] != welcome["conversation_id"]
    assert [call.conversation_id for call in engine.calls] == [
        welcome["conversation_id"],
        notice["conversation_id"],
    ]
    db.rollback()
    closed = db.execute(
        sa.text("SELECT close_reason FROM conversations WHERE id = :id"),
        {"id": welcome["conversation_id"]},
    ).scalar()
    assert closed == "idle"


def test_a_kept_message_is_answered_on_the_open_page_when_the_engine_returns(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.down = True
    with client.websocket_connect("/ws/chat") as socket:
        _hello(socket)
        first = _say(socket, "client-0001", "hello?")
        engine.down = False
        answer = _receive_until(socket, "message")

    assert _bot_texts(first) == [ENGINE_DOWN_REPLY]
    assert [f["message"]["sender"] for f in first if f["type"] == "message"] == ["system"]
    assert _bot_texts(answer) == ["echo: hello?"]


def _wait_until_answered(db: sa.Connection, text: str) -> None:
    """Until the replayer has answered the kept message (it runs every 0.1 s here)."""
    for _ in range(600):
        db.rollback()
        state = db.execute(
            sa.text("SELECT delivery_state FROM messages WHERE text = :text"), {"text": text}
        ).scalar()
        if state == "processed":
            return
        time.sleep(0.05)
    raise AssertionError(f"the replayer never answered {text!r}")


def _frames_until_pong(socket: WebSocketTestSession) -> list[dict[str, Any]]:
    """What the page got for its hello: the server answers a ping only after all of it."""
    socket.send_json({"type": "ping"})
    return _receive_until(socket, "pong")


def test_a_reply_to_a_message_kept_through_an_outage_longer_than_the_idle_time_reaches_the_page(
    client: TestClient, engine: ScriptedEngine, db: sa.Connection
) -> None:
    engine.down = True
    with client.websocket_connect("/ws/chat") as socket:
        welcome = _hello(socket)
        kept = _say(socket, "client-0001", "where is my parcel?")
    # The outage lasts longer than the idle time, and the page comes back during it.
    db.execute(
        sa.text("UPDATE conversations SET last_activity_at = :t"),
        {"t": datetime.now(UTC) - timedelta(hours=1)},
    )
    db.commit()
    with client.websocket_connect("/ws/chat") as socket:
        during = _hello(socket, session=welcome["session"])
        _frames_until_pong(socket)

    engine.down = False
    _wait_until_answered(db, "where is my parcel?")
    with client.websocket_connect("/ws/chat") as socket:
        after = _hello(socket, session=welcome["session"])
        history = _frames_until_pong(socket)

    assert _bot_texts(kept) == [ENGINE_DOWN_REPLY]
    assert _bot_texts(history) == [ENGINE_DOWN_REPLY, "echo: where is my parcel?"]
    assert during["conversation_id"] == after["conversation_id"] == welcome["conversation_id"]
    assert not [f for f in history if f["type"] == "conversation"]  # no "new conversation"


def test_a_resent_message_its_gateway_never_answered_is_answered_at_once(
    database_url: str, engine: ScriptedEngine
) -> None:
    """The gateway that stored it died mid-turn; the page, reconnected to another, sends
    it again from its outbox: it is answered now, not when the replayer gets to it."""
    settings = Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        webchat_secret=SecretStr(SECRET),
        replay_interval_seconds=3600,
    )
    app = create_app(settings, engine=engine)
    with TestClient(app) as client, client.websocket_connect("/ws/chat") as socket:
        welcome = _hello(socket)
        store_customer_message(
            app.state.services.session_factory,
            conversation_id=welcome["conversation_id"],
            channel="webchat",
            text="hello",
            client_message_id="client-0001",
        )
        frames = _say(socket, "client-0001", "hello")

    assert _bot_texts(frames) == ["echo: hello"]
    assert [call.text for call in engine.calls] == ["hello"]
