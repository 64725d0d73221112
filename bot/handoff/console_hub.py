"""Open agent consoles, told in real time when the queue or a conversation changes."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.websockets import WebSocket

logger = logging.getLogger(__name__)


class ConsoleHub:
    def __init__(self) -> None:
        self._sockets: set[WebSocket] = set()
        self._lock = asyncio.Lock()

    def add(self, socket: WebSocket) -> None:
        self._sockets.add(socket)

    def remove(self, socket: WebSocket) -> None:
        self._sockets.discard(socket)

    async def notify(self, event: dict[str, Any]) -> None:
        """Every open console hears it; a console that went away is dropped."""
        text = json.dumps(event, default=str)
        async with self._lock:
            for socket in list(self._sockets):
                try:
                    await socket.send_text(text)
                except Exception:  # any failure means that console is gone
                    self._sockets.discard(socket)
