"""The engine's replacements of Rasa methods: each gives Rasa's answers, pooled action
server calls reuse one connection, and nothing but Rasa's own method is ever replaced
(run in the engine's interpreter, against a real HTTP server on loopback)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.engine_python import RASA_PYTHON, run_engine_script

pytestmark = pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs `make setup`")

SCRIPT = r"""
import asyncio, json, sys
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig
from bot.engine.runtime import speedups

rasas_resolve = Event.resolve_by_type
names = sorted({cls.type_name for cls in all_subclasses(Event)})

async def connections_for(calls):
    # How many TCP connections `calls` requests through an EndpointConfig open.
    peers = set()
    async def answer(request):
        peers.add(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": []})
    app = web.Application()
    app.router.add_post("/webhook", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    for _ in range(calls):
        assert await endpoint.request(json={"x": 1}) == {"events": [], "responses": []}
    await runner.cleanup()
    return len(peers)

out = {"before": asyncio.run(connections_for(3))}
speedups.install()
speedups.install()  # a second start-up in the same process changes nothing
out["after"] = asyncio.run(connections_for(3))
out["same_classes"] = all(Event.resolve_by_type(n) is rasas_resolve(n) for n in names)
out["names"] = len(names)
out["topic"] = Event.resolve_by_type("topic")
out["default"] = Event.resolve_by_type("no_such_event", Event) is Event
try:
    Event.resolve_by_type("no_such_event")
    out["unknown"] = None
except ValueError as error:
    out["unknown"] = str(error)
action = RemoteAction("action_x", None)
out["valid"] = action._validate_action_result({"events": [{"event": "restart"}]})
try:
    action._validate_action_result({"events": [{"event": "no_such_event"}]})
    out["invalid"] = None
except ValidationError as error:
    out["invalid"] = error.message

class Elsewhere:
    def method(self): return 1

speedups._REPLACED[(Elsewhere, "method")] = lambda self: 2
try:
    speedups.install()
    out["foreign"] = None
except RuntimeError as error:
    out["foreign"] = str(error)
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def installed() -> dict[str, Any]:
    result: dict[str, Any] = run_engine_script(SCRIPT, None, timeout=300)
    return result


def test_action_server_calls_reuse_one_connection(installed: dict[str, Any]) -> None:
    # Rasa's own session opens a connection per call; the pooled one keeps one open.
    assert installed["before"] == 3
    assert installed["after"] == 1


def test_event_classes_are_found_as_rasa_finds_them(installed: dict[str, Any]) -> None:
    assert installed["names"] >= 20
    assert installed["same_classes"] is True
    assert installed["topic"] is None
    assert installed["default"] is True
    assert installed["unknown"] == "Unknown event name 'no_such_event'."


def test_action_answers_are_checked_with_rasas_words(installed: dict[str, Any]) -> None:
    assert installed["valid"] is True
    assert "Failed to validate Action server response from API" in installed["invalid"]


def test_only_rasas_own_methods_are_replaced(installed: dict[str, Any]) -> None:
    assert "Elsewhere.method is not Rasa's own" in installed["foreign"]
