"""The web chat pages open on this gateway, and the way replies made elsewhere reach them.

A reply can be produced outside the page's own socket: by the replayer, an agent, an
incident notice, or another gateway (through the event bus). Each goes through the
hub, which sends it to every open page of the conversation here and publishes it for
the pages open on the other gateways.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.channels.event_bus import EventBus, LocalBus
from bot.channels.relay_store import StoredMessage

# WebSocket's "service restart": the page reconnects by itself and asks for what it missed.
CATCH_UP_CLOSE_CODE = 1012


def message_frame(message: StoredMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "sender": message.sender,
        "text": message.text,
        "buttons": message.buttons,
        "created_at": message.created_at.isoformat(),
    }


class Connection:
    """One open page; sends are serialised because several tasks write to it."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.conversation_id: str | None = None
        self._send_lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> bool:
        """False if the page has gone; the caller's messages stay stored for its return."""
        try:
            async with self._send_lock:
                await self.websocket.send_text(json.dumps(frame, ensure_ascii=False))
        except (WebSocketDisconnect, RuntimeError, OSError):
            return False
        return True


class WebChatHub:
    """Open pages by conversation; the web chat's `Delivery` for replies made elsewhere
    (on this gateway, or on another one: through `bus`)."""

    def __init__(self, bus: EventBus | None = None) -> None:
        self._pages: defaultdict[str, set[Connection]] = defaultdict(set)
        self._bus = bus or LocalBus()
        self._bus.subscribe("webchat", self._from_another_gateway)
        self._bus.on_rejoined(self._reconnect_pages)

    def attach(self, connection: Connection, conversation_id: str) -> None:
        self.detach(connection)
        connection.conversation_id = conversation_id
        self._pages[conversation_id].add(connection)

    def detach(self, connection: Connection) -> None:
        if connection.conversation_id is None:
            return
        pages = self._pages.get(connection.conversation_id)
        if pages is not None:
            pages.discard(connection)
            if not pages:
                del self._pages[connection.conversation_id]

    async def broadcast(
        self, conversation_id: str, frame: dict[str, Any], *, exclude: Connection | None = None
    ) -> None:
        """To the conversation's pages on every gateway (but `exclude`, the sender's)."""
        await self._send_here(conversation_id, frame, exclude=exclude)
        await self._bus.publish("webchat", {"conversation_id": conversation_id, "frame": frame})

    async def _send_here(
        self, conversation_id: str, frame: dict[str, Any], *, exclude: Connection | None = None
    ) -> None:
        for connection in list(self._pages.get(conversation_id, ())):
            if connection is not exclude:
                await connection.send(frame)

    async def _reconnect_pages(self) -> None:
        """Redis was away, and what other gateways sent these pages meanwhile is lost: each
        page is asked to reconnect (1012, "service restart"), which it does by itself,
        getting what it has not seen from the stored conversation."""
        for connection in [c for pages in self._pages.values() for c in pages]:
            with contextlib.suppress(RuntimeError, OSError):
                await connection.websocket.close(code=CATCH_UP_CLOSE_CODE)

    async def _from_another_gateway(self, payload: dict[str, Any]) -> None:
        await self._send_here(str(payload["conversation_id"]), payload["frame"])

    async def deliver(self, conversation_id: str, messages: Sequence[StoredMessage]) -> None:
        """Pushes to every open page; the page's `delivered` frame marks them delivered."""
        for message in messages:
            await self.broadcast(
                conversation_id, {"type": "message", "message": message_frame(message)}
            )
