"""Local shared tokens, so a newcomer's `make run` is never open on loopback."""

from __future__ import annotations

import secrets
from pathlib import Path

TOKEN_NAMES = (
    "SHOPDESK_ENGINE_CHANNEL_TOKEN",
    "SHOPDESK_RASA_AUTH_TOKEN",
    "SHOPDESK_ACTION_SERVER_TOKEN",
)


def write_local_secrets(path: Path) -> bool:
    """Writes random tokens once; an existing file is kept so running processes agree."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{name}={secrets.token_urlsafe(32)}" for name in TOKEN_NAMES]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return True
