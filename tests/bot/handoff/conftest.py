"""A migrated Shopdesk database (SQLite and PostgreSQL) with a few conversations."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.storage.conversations import create_conversation


def new_conversation(session_factory: sessionmaker[Session], channel: str = "webchat") -> str:
    with session_factory.begin() as session:
        return create_conversation(session, channel=channel)[0].id  # type: ignore[arg-type]
