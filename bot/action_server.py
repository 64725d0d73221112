"""Runs the rasa-sdk action server on loopback, refusing calls without the shared token.

rasa-sdk's own runner listens on every interface and checks nothing; Rasa sends
the token from endpoints.yml as the `token` query parameter.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from bot.knowledge.retriever import get_retriever
from bot.settings import get_settings
from bot.storage.local_files import keep_files_private

logger = logging.getLogger(__name__)


def create_action_app() -> Sanic[Any, Any]:
    """Module-level factory, because Sanic's loader rebuilds the app in its worker."""
    settings = get_settings()
    expected = settings.action_server_token.get_secret_value().encode()
    if not expected:
        raise RuntimeError("SHOPDESK_ACTION_SERVER_TOKEN is not set; run `make setup`")
    executor = ActionExecutor()
    executor.register_package("actions")
    app: Sanic[Any, Any] = create_app(executor, cors_origins=[])

    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path == "/health":
            return None
        given = (request.args.get("token") or "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "unauthorised"}, status=401)
        return None

    app.register_middleware(require_token, "request")
    app.register_listener(_warm_up, "before_server_start")
    return app


async def _warm_up(_app: Sanic[Any, Any], _loop: object) -> None:
    """Loads the knowledge base and its sentence encoder before the server takes calls:
    loaded on the first question instead, they cost that customer (and every turn
    queued behind it) several seconds, and after a restart the health check would call
    a server ready that is not."""
    index_dir = get_settings().knowledge_index_dir
    try:
        await asyncio.to_thread(lambda: get_retriever(index_dir).search("opening hours", top_k=1))
    except Exception as error:  # the action says so to the customer; here, only log it
        logger.warning("knowledge base not loaded at start (%s)", type(error).__name__)


def main() -> None:
    keep_files_private()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    loader = AppLoader(factory=create_action_app)
    app = loader.load()
    app.prepare(
        host=settings.action_server_host,
        port=settings.action_server_port,
        single_process=True,
        access_log=False,
        motd=False,
    )
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
