"""The web chat's page, widget and static files, and the WebSocket they talk to."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, WebSocket
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from bot.channels.webchat import WebChatSession
from bot.web.api import GatewayServices

STATIC_DIR = Path(__file__).resolve().parent / "static"

pages_router = APIRouter(include_in_schema=False)


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


@pages_router.get("/")
def chat_page() -> FileResponse:
    """The same page full-screen and inside the widget's iframe (`?embed=1`)."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@pages_router.get("/widget.js")
def widget_script() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "widget.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )


@pages_router.websocket("/ws/chat")
async def webchat_socket(websocket: WebSocket) -> None:
    services: GatewayServices = websocket.app.state.services
    session = WebChatSession(
        websocket,
        hub=services.webchat,
        relay=services.relay,
        session_factory=services.session_factory,
        secret=services.webchat_secret,
        idle_after=services.idle_after,
        max_chars=services.settings.max_message_chars,
        tasks=services.background,
        limits=services.limits,
    )
    await session.serve()
