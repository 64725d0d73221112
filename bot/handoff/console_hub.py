"""Open agent consoles, told in real time when the queue or a conversation changes.

Each console belongs to the sign-in session whose cookie opened it, known here by the
token's hash: signing out closes that session's consoles, and a console whose session
has expired hears nothing more, even in the moment before its own loop closes it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.websockets import WebSocket

from bot.channels.event_bus import EventBus, LocalBus
from bot.storage.tables import utc_now

logger = logging.getLogger(__name__)


@dataclass
class _Console:
    session: str  # the sign-in token's hash
    expires_at: datetime
    agent_id: int


class ConsoleHub:
    """The consoles open on this gateway; what happens on another reaches them through
    `bus`, and what happens here is published for the consoles open there."""

    def __init__(self, bus: EventBus | None = None) -> None:
        self._consoles: dict[WebSocket, _Console] = {}
        # One sender at a time, so that a close never overtakes an event or meets a send.
        self._lock = asyncio.Lock()
        self._bus = bus or LocalBus()
        self._bus.subscribe("console", self._event_from_another_gateway)
        self._bus.subscribe("console-close", self._close_from_another_gateway)

    def add(self, socket: WebSocket, *, session: str, expires_at: datetime, agent_id: int) -> None:
        self._consoles[socket] = _Console(session, expires_at, agent_id)

    def extend(self, socket: WebSocket, *, expires_at: datetime) -> None:
        """For a session read again; a console closed meanwhile stays closed."""
        console = self._consoles.get(socket)
        if console is not None:
            console.expires_at = expires_at

    def remove(self, socket: WebSocket) -> None:
        self._consoles.pop(socket, None)

    async def notify(self, event: dict[str, Any], *, agent_id: int | None = None) -> None:
        """Every open console of a live session hears it, or only `agent_id`'s: a message
        in a conversation is for the agent who has it, not for every desk. A console
        that went away is dropped."""
        await self._notify_here(event, agent_id=agent_id)
        await self._bus.publish("console", {"event": event, "agent_id": agent_id})

    async def _event_from_another_gateway(self, payload: dict[str, Any]) -> None:
        agent_id = payload.get("agent_id")
        await self._notify_here(payload["event"], agent_id=int(agent_id) if agent_id else None)

    async def _notify_here(self, event: dict[str, Any], *, agent_id: int | None) -> None:
        text = json.dumps(event, default=str)
        async with self._lock:
            now = utc_now()
            for socket, console in list(self._consoles.items()):
                if console.expires_at <= now:
                    continue
                if agent_id is not None and console.agent_id != agent_id:
                    continue
                try:
                    await socket.send_text(text)
                except Exception:  # any failure means that console is gone
                    self._consoles.pop(socket, None)

    async def close_session(self, session: str, *, code: int, reason: str) -> None:
        """Closes every console that the session (a token's hash) opened, on every gateway."""
        await self._close_session_here(session, code=code, reason=reason)
        await self._bus.publish(
            "console-close", {"session": session, "code": code, "reason": reason}
        )

    async def _close_from_another_gateway(self, payload: dict[str, Any]) -> None:
        await self._close_session_here(
            str(payload["session"]), code=int(payload["code"]), reason=str(payload["reason"])
        )

    async def _close_session_here(self, session: str, *, code: int, reason: str) -> None:
        async with self._lock:
            ending = [s for s, console in self._consoles.items() if console.session == session]
            for socket in ending:
                await self._close(socket, code=code, reason=reason)

    async def close(self, socket: WebSocket, *, code: int, reason: str) -> None:
        async with self._lock:
            await self._close(socket, code=code, reason=reason)

    async def _close(self, socket: WebSocket, *, code: int, reason: str) -> None:
        if self._consoles.pop(socket, None) is None:
            return  # closed already, or the console went away
        try:
            await socket.close(code=code, reason=reason)
        except Exception:  # it went away meanwhile: closed all the same
            logger.debug("console socket was gone before it could be closed")
