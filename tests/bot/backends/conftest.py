"""A freshly seeded demo shop for every test, on SQLite and on the real PostgreSQL.

Seeding takes about a second per database; copying a shop seeded once per
session takes a fraction of that (SQLite's backup API, PostgreSQL's template
databases), and keeps the suite quick without tests sharing what they change.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.demo.generate import generate_demo_shop
from bot.demo.rows import DemoShop
from bot.demo.seed import seed_demo_shop

SEEDED_FOR = date(2025, 1, 8)  # the TODAY of the tests here
_numbers = itertools.count(1)


def _sibling(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def _admin(any_url: str, statement: str) -> None:
    """From the maintenance database: a template cannot be copied while anyone is in it."""
    engine = sa.create_engine(_sibling(any_url, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def shop_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A demo shop seeded for SEEDED_FOR, never handed to a test itself."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('shop') / 'template.db'}"
        seed_demo_shop(url, today=SEEDED_FOR)
        yield url
        return
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"shop_template_{next(_numbers)}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    seed_demo_shop(_sibling(server_url, name), today=SEEDED_FOR)  # disposes its connections
    yield _sibling(server_url, name)
    _admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def seeded_url(shop_template: str, tmp_path: Path) -> Iterator[str]:
    """A private copy of the seeded shop; dropped afterwards on PostgreSQL."""
    template = sa.make_url(shop_template)
    if template.get_backend_name() == "sqlite":
        copy = tmp_path / "shop.db"
        source, target = sqlite3.connect(str(template.database)), sqlite3.connect(copy)
        with closing(source), closing(target):
            source.backup(target)
        yield f"sqlite:///{copy}"
        return
    name = f"shop_{next(_numbers)}"
    _admin(shop_template, f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"')
    yield _sibling(shop_template, name)
    _admin(shop_template, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def expected() -> DemoShop:
    """What the seed wrote: the generator is deterministic, so it is the ground truth."""
    return generate_demo_shop(SEEDED_FOR)
