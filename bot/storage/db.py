"""Engines and sessions: SQLite files by default, PostgreSQL through a URL."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.local_files import private_file


def prepare_sqlite_file(url: str) -> None:
    """A new SQLite file (and its folder) is created private before SQLite opens it, by
    whichever opens it first: a migration or a process."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        private_file(Path(str(parsed.database)))


def make_engine(url: str) -> Engine:
    """SQLite gets WAL and foreign keys; PostgreSQL a short connect timeout and pre-ping."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        prepare_sqlite_file(url)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            hide_parameters=True,
            # Worker threads (asyncio's and FastAPI's) share the pool: connections beyond
            # the pool size are closed after each use, and opening one costs its pragmas.
            pool_size=16,
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL is a property of the file: set once, it stays. Switching needs the file to
            # itself, so a connection racing another's first switch just lets that one do it.
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                with contextlib.suppress(sqlite3.OperationalError):
                    cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 3},
        pool_timeout=5,
        hide_parameters=True,  # errors must not quote what customers typed
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
