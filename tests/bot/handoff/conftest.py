"""A migrated Shopdesk database (SQLite and PostgreSQL) with a few conversations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.conversations import create_conversation
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    upgrade(database_url, schema="shopdesk")
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def new_conversation(session_factory: sessionmaker[Session], channel: str = "webchat") -> str:
    with session_factory.begin() as session:
        return create_conversation(session, channel=channel)[0].id  # type: ignore[arg-type]
