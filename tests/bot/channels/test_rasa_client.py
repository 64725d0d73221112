"""RasaEngine and parse_text against a real HTTP server that answers like Rasa."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from bot.channels.engine import BotReply, EngineTurn, EngineUnavailable
from bot.channels.rasa_client import RasaEngine, parse_text
from bot.settings import Settings
from tests.support.ports import free_port


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeRasa:
    """What the server answers next, and what it was sent."""

    url: str
    status: int = 200
    body: bytes = b"[]"
    delay_seconds: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)

    def answer_json(self, value: object, status: int = 200) -> None:
        self.status, self.body = status, json.dumps(value).encode()


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    state: FakeRasa

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(RecordedRequest(self.path, dict(self.headers), body))
            time.sleep(state.delay_seconds)
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = FakeRasa(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _settings(rasa_url: str, timeout: float = 5.0) -> Settings:
    return Settings(
        database_url="sqlite://",
        rasa_url=rasa_url,
        engine_channel_token=SecretStr("channel-secret"),
        rasa_auth_token=SecretStr("api-secret"),
        engine_timeout_seconds=timeout,
    )


async def _turn(settings: Settings, text: str = "hello") -> EngineTurn:
    engine = RasaEngine(settings)
    try:
        return await engine.send(
            conversation_id="c0ffee", text=text, metadata={"channel": "api", "role": "customer"}
        )
    finally:
        await engine.aclose()


async def _send(settings: Settings, text: str = "hello") -> list[BotReply]:
    return (await _turn(settings, text)).replies


async def test_replies_come_back_and_the_request_is_authenticated(fake_rasa: FakeRasa) -> None:
    fake_rasa.answer_json(
        [
            {"recipient_id": "c0ffee", "text": "Hi! How can I help?"},
            {
                "recipient_id": "c0ffee",
                "text": "Pick one",
                "buttons": [{"title": "Track order", "payload": "/track_order"}],
            },
            {"recipient_id": "c0ffee", "image": "https://example.com/map.png"},
            {"recipient_id": "c0ffee", "custom": {"kind": "map"}},
        ]
    )

    replies = await _send(_settings(fake_rasa.url), text="Where is my parcel?")

    assert replies == [
        BotReply(text="Hi! How can I help?"),
        BotReply(text="Pick one", buttons=[{"title": "Track order", "payload": "/track_order"}]),
    ]
    [request] = fake_rasa.requests
    assert request.path == "/webhooks/gateway/webhook"
    assert request.headers["Authorization"] == "Bearer channel-secret"
    assert json.loads(request.body) == {
        "sender": "c0ffee",
        "message": "Where is my parcel?",
        "metadata": {"channel": "api", "role": "customer"},
    }


@pytest.mark.parametrize(
    ("custom", "verified"),
    [
        ({"shopdesk_signal": {"type": "customer_verified", "customer_id": 42}}, [42]),
        ({"shopdesk_signal": {"type": "customer_verified", "customer_id": "42"}}, []),
        ({"shopdesk_signal": {"type": "customer_verified", "customer_id": True}}, []),
        ({"shopdesk_signal": {"type": "something_else", "customer_id": 42}}, []),
        ({"kind": "map"}, []),
    ],
)
async def test_only_a_well_formed_verification_signal_is_taken_and_never_shown(
    fake_rasa: FakeRasa, custom: dict[str, object], verified: list[int]
) -> None:
    fake_rasa.answer_json([{"custom": custom}, {"text": "Here it is."}])

    turn = await _turn(_settings(fake_rasa.url))

    assert turn.replies == [BotReply(text="Here it is.")]
    assert [signal.customer_id for signal in turn.verified_customers] == verified


@pytest.mark.parametrize(
    ("signal", "intent"),
    [
        ({"type": "intent", "name": "order_status"}, "order_status"),
        ({"type": "intent", "name": "Order Status!"}, None),
        ({"type": "intent", "name": "x" * 65}, None),
        ({"type": "intent", "name": 3}, None),
        ({"type": "customer_verified", "name": "order_status"}, None),
    ],
)
async def test_the_intent_the_engine_read_is_taken_and_never_shown(
    fake_rasa: FakeRasa, signal: dict[str, object], intent: str | None
) -> None:
    """The answer to `report_intent` (bot/engine/gateway_channel.py), for the desk's figures."""
    fake_rasa.answer_json([{"text": "Here it is."}, {"custom": {"shopdesk_signal": signal}}])

    turn = await _turn(_settings(fake_rasa.url))

    assert turn.replies == [BotReply(text="Here it is.")]
    assert turn.intent == intent


async def test_a_reply_with_only_buttons_keeps_them(fake_rasa: FakeRasa) -> None:
    fake_rasa.answer_json([{"buttons": [{"title": "Yes", "payload": "/affirm"}]}])

    assert await _send(_settings(fake_rasa.url)) == [
        BotReply(text=None, buttons=[{"title": "Yes", "payload": "/affirm"}])
    ]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b'{"error": "boom"}'),
        (401, b'{"error": "unauthorized"}'),
        (200, b"<html>not json</html>"),
        (200, b'{"text": "an object, not a list"}'),
        (200, b'[{"text": 42}]'),
        (200, b'[{"text": "ok", "buttons": [{"title": "no payload"}]}]'),
    ],
    ids=["500", "401", "html", "object", "text-not-string", "button-without-payload"],
)
async def test_bad_answers_mean_the_engine_is_unavailable(
    fake_rasa: FakeRasa, status: int, body: bytes
) -> None:
    fake_rasa.status, fake_rasa.body = status, body

    with pytest.raises(EngineUnavailable) as raised:
        await _send(_settings(fake_rasa.url), text="my phone is 13800001234")

    assert "13800001234" not in str(raised.value)  # error messages end up in logs


async def test_a_closed_port_means_the_engine_is_unavailable() -> None:
    with pytest.raises(EngineUnavailable):
        await _send(_settings(f"http://127.0.0.1:{free_port()}"))


async def test_a_slow_engine_is_given_up_on_at_the_timeout(fake_rasa: FakeRasa) -> None:
    fake_rasa.delay_seconds = 2.0
    started = time.monotonic()

    with pytest.raises(EngineUnavailable, match=r"did not answer within 0\.3 s"):
        await _send(_settings(fake_rasa.url, timeout=0.3))

    assert time.monotonic() - started < 1.5


def test_parse_text_pulls_out_intent_and_confidence(fake_rasa: FakeRasa) -> None:
    ranking = [
        {"name": "order_status", "confidence": 0.93},
        {"name": "greet", "confidence": 0.04},
    ]
    fake_rasa.answer_json(
        {
            "text": "where is my order",
            "intent": {"name": "order_status", "confidence": 0.93},
            "entities": [],
            "intent_ranking": ranking,
            "response_selector": {},
        }
    )

    result = parse_text(_settings(fake_rasa.url), "where is my order")

    assert result == {
        "text": "where is my order",
        "intent": "order_status",
        "confidence": 0.93,
        "entities": [],
        "intent_ranking": ranking,
    }
    [request] = fake_rasa.requests
    assert request.path == "/model/parse?token=api-secret"
    assert json.loads(request.body) == {"text": "where is my order"}


def test_parse_text_reports_a_refused_token_without_showing_it(fake_rasa: FakeRasa) -> None:
    fake_rasa.answer_json({"status": "failure"}, status=401)

    with pytest.raises(EngineUnavailable, match="SHOPDESK_RASA_AUTH_TOKEN") as raised:
        parse_text(_settings(fake_rasa.url), "hi")

    assert "api-secret" not in str(raised.value)


def test_parse_text_reports_an_engine_that_is_not_running() -> None:
    with pytest.raises(EngineUnavailable, match="unreachable"):
        parse_text(_settings(f"http://127.0.0.1:{free_port()}"), "hi")
