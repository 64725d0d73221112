"""Local shared tokens, so a newcomer's `make run` is never open on loopback."""

from __future__ import annotations

import secrets
from pathlib import Path

from bot.storage.local_files import private_file

TOKEN_NAMES = (
    "SHOPDESK_ENGINE_CHANNEL_TOKEN",
    "SHOPDESK_RASA_AUTH_TOKEN",
    "SHOPDESK_ACTION_SERVER_TOKEN",
    "SHOPDESK_WEBCHAT_SECRET",
)


def write_local_secrets(path: Path) -> bool:
    """Writes random tokens for the names the file lacks; existing values are kept, so
    running processes agree and web chat sessions stay valid. True if it wrote any."""
    existing = path.read_text() if path.exists() else ""
    present = {line.split("=", 1)[0].strip() for line in existing.splitlines() if "=" in line}
    missing = [name for name in TOKEN_NAMES if name not in present]
    if not missing:
        return False
    private_file(path)  # 0600 before a token is written into it
    lines = [f"{name}={secrets.token_urlsafe(32)}" for name in missing]
    prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
    path.write_text(prefix + "\n".join(lines) + "\n")
    path.chmod(0o600)
    return True
