"""Headers that make the gateway's pages safe to open and to embed where allowed.

The chat page renders everything as text, and the Content-Security-Policy is the
second wall: even injected markup could run no script, load nothing from elsewhere
and send nothing anywhere but back to the gateway.

Only the chat page may be framed, by the shops' sites (the widget's iframe); every
other page, the agent console above all, may be framed by no one, so that no site can
overlay it to trick a signed-in agent into clicks (clickjacking). The files the chat
page loads are not framed themselves, so they need no exception.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# FastAPI's interactive docs load their scripts from a CDN: a full policy would only
# break them, but they need not be framed either.
_DOCS_PATHS = ("/docs", "/redoc")
NOT_FRAMED = "'none'"


def content_security_policy(frame_ancestors: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {frame_ancestors}",
        )
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, framed_pages: Mapping[str, str]) -> None:
        """`framed_pages`: path -> who may frame the page there (CSP frame-ancestors);
        a response for any other path may not be framed at all."""
        self.app = app
        self.framed_policies = {
            path: content_security_policy(ancestors) for path, ancestors in framed_pages.items()
        }
        self.unframed_policy = content_security_policy(NOT_FRAMED)

    def _headers(self, path: str) -> dict[str, str]:
        if path.startswith(_DOCS_PATHS):
            return {
                "Content-Security-Policy": f"frame-ancestors {NOT_FRAMED}",
                "X-Frame-Options": "DENY",
            }
        framed = self.framed_policies.get(path)
        if framed is not None:
            # X-Frame-Options cannot name several sites; browsers that know
            # frame-ancestors ignore it anyway.
            return {"Content-Security-Policy": framed}
        return {"Content-Security-Policy": self.unframed_policy, "X-Frame-Options": "DENY"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self._headers(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(added)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
            await send(message)

        await self.app(scope, receive, with_headers)
