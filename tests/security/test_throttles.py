"""Per-client limits and body sizes, attacked through the gateway (issue 19, findings 1
and 2): a client cannot mint conversations or messages without bound, and no route
reads a body bigger than its limit, whatever the credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.websockets import WebSocketDisconnect

from bot.channels.engine import BotReply, EngineTurn
from bot.settings import Settings
from bot.web.app import create_app

ATTACKER = ("203.0.113.66", 40000)
CUSTOMER = ("198.51.100.20", 40000)


@dataclass
class EchoEngine:
    calls: list[str] = field(default_factory=list)

    async def send(
        self, *, conversation_id: str, text: str, metadata: dict[str, object]
    ) -> EngineTurn:
        self.calls.append(text)
        return EngineTurn([BotReply(text="Noted.")])

    async def ready(self) -> bool:
        return True

    async def resume(self, *, conversation_id: str, outcome: str) -> None:
        return None


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        webchat_secret=SecretStr("s" * 32),
        client_conversations_limit=3,
        client_messages_limit=4,
        client_frames_per_minute=12,
        telegram_token=SecretStr(""),
    )


@pytest.fixture
def engine() -> EchoEngine:
    return EchoEngine()


@pytest.fixture
def app(settings: Settings, engine: EchoEngine) -> Iterator[object]:
    yield create_app(settings, engine=engine)


def _client(app: object, peer: tuple[str, int]) -> TestClient:
    return TestClient(app, client=peer, raise_server_exceptions=False)  # type: ignore[arg-type]


def _count(database_url: str, table: str) -> int:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        count = int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    engine.dispose()
    return count


def test_creating_conversations_is_limited_per_client_with_retry_after(
    app: object, database_url: str
) -> None:
    with _client(app, ATTACKER) as attacker, _client(app, CUSTOMER) as customer:
        made = [attacker.post("/api/conversations").status_code for _ in range(3)]
        refused = attacker.post("/api/conversations")
        other = customer.post("/api/conversations")

    assert made == [201, 201, 201]
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 500  # the 10-minute window, nearly whole
    assert refused.json()["detail"].startswith("too many new conversations from this client")
    assert other.status_code == 201  # someone else is not punished
    assert _count(database_url, "conversations") == 4


def test_a_forged_forwarded_for_header_does_not_make_a_new_client(app: object) -> None:
    with _client(app, ATTACKER) as attacker:
        statuses = [
            attacker.post(
                "/api/conversations", headers={"X-Forwarded-For": f"192.0.2.{index}"}
            ).status_code
            for index in range(5)
        ]

    assert statuses == [201, 201, 201, 429, 429]


def test_messages_are_limited_per_client_and_a_refused_one_is_not_stored(
    app: object, engine: EchoEngine, database_url: str
) -> None:
    with _client(app, ATTACKER) as attacker:
        created = attacker.post("/api/conversations").json()
        auth = {"Authorization": f"Bearer {created['token']}"}
        url = f"/api/conversations/{created['id']}/messages"
        statuses = [
            attacker.post(url, json={"text": f"guess {index}"}, headers=auth).status_code
            for index in range(6)
        ]
        refused = attacker.post(url, json={"text": "one more"}, headers=auth)

    assert statuses == [200, 200, 200, 200, 429, 429]
    assert refused.headers["Retry-After"].isdigit()
    assert engine.calls == [f"guess {index}" for index in range(4)]
    assert _count(database_url, "messages WHERE direction = 'in'") == 4


def test_the_conversation_records_its_client_for_the_proof_limits(
    app: object, engine: EchoEngine, database_url: str
) -> None:
    with _client(app, ("2001:db8:5:6:7::9", 40000)) as client:
        created = client.post("/api/conversations").json()
        client.post(
            f"/api/conversations/{created['id']}/messages",
            json={"text": "hello"},
            headers={"Authorization": f"Bearer {created['token']}"},
        )

    engine_db = sa.create_engine(database_url)
    with engine_db.connect() as connection:
        key = connection.execute(sa.text("SELECT client_key FROM conversations")).scalar_one()
    engine_db.dispose()
    assert key == "ip:2001:db8:5:6::/64"


def _hello(socket: object) -> dict[str, object]:
    socket.send_text(json.dumps({"type": "hello"}))  # type: ignore[attr-defined]
    return json.loads(socket.receive_text())  # type: ignore[attr-defined,no-any-return]


def test_web_chat_new_sessions_are_limited_and_the_page_is_told_when_to_come_back(
    app: object, database_url: str
) -> None:
    with _client(app, ATTACKER) as attacker:
        for _ in range(3):
            with attacker.websocket_connect("/ws/chat") as socket:
                assert _hello(socket)["type"] == "welcome"
        with attacker.websocket_connect("/ws/chat") as socket:
            refused = _hello(socket)

    assert refused["type"] == "error" and refused["code"] == "rate_limited"
    assert isinstance(refused["retry_after"], int) and refused["retry_after"] > 0
    assert "Too many new chats" in str(refused["detail"])
    assert _count(database_url, "channel_accounts") == 3


def test_a_returning_web_chat_session_is_not_a_new_chat(app: object) -> None:
    with _client(app, CUSTOMER) as customer:
        with customer.websocket_connect("/ws/chat") as socket:
            session = _hello(socket)["session"]
        for _ in range(5):
            with customer.websocket_connect("/ws/chat") as socket:
                socket.send_text(json.dumps({"type": "hello", "session": session}))
                assert json.loads(socket.receive_text())["type"] == "welcome"


def test_web_chat_messages_over_the_limit_are_refused_politely_and_not_stored(
    app: object, engine: EchoEngine, database_url: str
) -> None:
    with _client(app, ATTACKER) as attacker, attacker.websocket_connect("/ws/chat") as socket:
        _hello(socket)
        refusals = []
        for index in range(6):
            client_id = f"msg-{index:04d}"
            socket.send_text(json.dumps({"type": "message", "client_id": client_id, "text": "hi"}))
            frame = _ack_or_error(socket, client_id)
            if frame["type"] == "error":
                refusals.append(frame)

    assert [frame["client_id"] for frame in refusals] == ["msg-0004", "msg-0005"]
    assert all(frame["code"] == "rate_limited" for frame in refusals)
    assert "sent again by itself" in str(refusals[0]["detail"])
    assert _count(database_url, "messages WHERE direction = 'in'") == 4


def _ack_or_error(socket: object, client_id: str) -> dict[str, object]:
    """The server's word on one message; typing and replies may come in between."""
    while True:
        frame: dict[str, object] = json.loads(socket.receive_text())  # type: ignore[attr-defined]
        if frame["type"] in ("ack", "error") and frame.get("client_id") == client_id:
            return frame


def test_a_page_flooding_frames_is_told_why_and_disconnected(app: object) -> None:
    with _client(app, ATTACKER) as attacker, attacker.websocket_connect("/ws/chat") as socket:
        _hello(socket)  # the first of the twelve frames
        answers = []
        for _ in range(11):
            socket.send_text(json.dumps({"type": "ping"}))
            answers.append(json.loads(socket.receive_text())["type"])
        socket.send_text(json.dumps({"type": "delivered", "up_to": 1}))
        refused = json.loads(socket.receive_text())
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_text()

    assert answers == ["pong"] * 11
    assert refused["code"] == "rate_limited" and "disconnected" in refused["detail"]
    assert closed.value.code == 1013


BIG = b"x" * 3_000_000


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/telegram/webhook", 413),
        ("/api/console/login", 413),
        ("/api/console/handoffs/1/messages", 413),
        ("/api/conversations", 422),
        ("/healthz", 413),
    ],
)
def test_a_huge_body_is_refused_before_any_credential_is_checked(
    app: object, path: str, status: int
) -> None:
    with _client(app, ATTACKER) as attacker:
        response = attacker.post(path, content=BIG, headers={"Content-Type": "application/json"})

    assert response.status_code == status
    assert "larger than" in response.json()["detail"]


def test_a_chunked_body_without_a_length_is_cut_off_at_the_limit(app: object) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(300):
            yield b"x" * 10_000

    with _client(app, ATTACKER) as attacker:
        response = attacker.post("/api/console/login", content=chunks())

    assert response.status_code == 413
