"""Fixtures shared by the whole suite: databases on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from tests.support.postgres import create_database, drop_database, running_postgres
from tests.support.redis import RedisServer, running_redis

# Chromium and its pages for the browser tests: `browser`, `script_errors`, `page`.
pytest_plugins = ["tests.support.browser"]

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One PostgreSQL server for the whole session."""
    with running_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a new database on the real PostgreSQL server
    (dropped afterwards, so the server's files stay small)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"test_{next(_database_numbers)}"
    yield create_database(server_url, name)
    drop_database(server_url, name)


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Shopdesk's own database, migrated to the head revision."""
    upgrade(database_url, schema="shopdesk")
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[sa.Connection]:
    """A separate connection, to see only what the code under test committed."""
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A Redis server of its own for the test (Debian's redis-server, on loopback)."""
    with running_redis() as server:
        yield server
