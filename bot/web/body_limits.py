"""Every request body is bounded before it is read: no route holds more in memory.

Bodies are counted as they arrive (a declared Content-Length over the limit is
refused at once, a chunked body as soon as it passes the limit), before any
route, credential check or JSON parser sees them. Each path prefix has its own
limit; the longest prefix that matches wins, and everything else gets the default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import status
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.settings import Settings


@dataclass(frozen=True)
class BodyLimit:
    path_prefix: str
    max_bytes: int
    # The chat API answers 422 for every body it will not process (docs/chat-api.md);
    # other routes answer HTTP's own 413.
    status_code: int = status.HTTP_413_CONTENT_TOO_LARGE

    @property
    def detail(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes"


@dataclass(frozen=True)
class ChatBodyLimit(BodyLimit):
    max_chars: int = 0
    status_code: int = status.HTTP_422_UNPROCESSABLE_CONTENT

    @property
    def detail(self) -> str:
        return (
            f"body is larger than {self.max_bytes} bytes; "
            f"text may have at most {self.max_chars} characters"
        )


def chat_body_bytes(settings: Settings) -> int:
    """Room for the longest allowed text even if every character comes as a 12-byte
    JSON escape pair."""
    return settings.max_message_chars * 12 + 1024


def gateway_body_limits(
    settings: Settings, *, chat_prefix: str, telegram_path: str
) -> list[BodyLimit]:
    return [
        ChatBodyLimit(chat_prefix, chat_body_bytes(settings), max_chars=settings.max_message_chars),
        BodyLimit(telegram_path, settings.telegram_max_update_bytes),
        BodyLimit("/", settings.max_request_bytes),
    ]


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, limits: Sequence[BodyLimit]) -> None:
        if not any(limit.path_prefix == "/" for limit in limits):
            raise ValueError("give a limit for '/', so that every route has one")
        self.app = app
        self.limits = sorted(limits, key=lambda limit: len(limit.path_prefix), reverse=True)

    def limit_for(self, path: str) -> BodyLimit:
        return next(limit for limit in self.limits if path.startswith(limit.path_prefix))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit.max_bytes:
            await self._refuse(limit, scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit.max_bytes:
                await self._refuse(limit, scope, receive, send)
                return
            chunks.append(chunk)
            more_body = message.get("more_body", False)
        body = b"".join(chunks)
        body_delivered = False

        async def replay_body() -> Message:
            nonlocal body_delivered
            if body_delivered:
                return await receive()
            body_delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay_body, send)

    @staticmethod
    async def _refuse(limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = JSONResponse({"detail": limit.detail}, status_code=limit.status_code)
        await refusal(scope, receive, send)
