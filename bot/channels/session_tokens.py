"""Signed web chat session tokens: the browser keeps one, only the gateway can make one.

`v1.<session id>.<HMAC-SHA256 of the id, base64url>`. The session id is random,
so a token reveals nothing; the signature means a page cannot make up a session
and land in someone else's conversation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

_VERSION = "v1"
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def _signature(secret: str, session_id: str) -> str:
    digest = hmac.new(secret.encode(), f"{_VERSION}.{session_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def issue_token(secret: str, session_id: str) -> str:
    if not secret:
        raise ValueError("no web chat secret: set SHOPDESK_WEBCHAT_SECRET")
    return f"{_VERSION}.{session_id}.{_signature(secret, session_id)}"


def session_id_from(secret: str, token: object) -> str | None:
    """The session id of a genuine token; None for anything else, whatever it is."""
    if not secret or not isinstance(token, str) or len(token) > 200:
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION or not _SESSION_ID.fullmatch(parts[1]):
        return None
    if not hmac.compare_digest(parts[2], _signature(secret, parts[1])):
        return None
    return parts[1]
