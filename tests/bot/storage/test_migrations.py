"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.storage.migrate import upgrade
from bot.storage.tables import Base


def test_migrated_schema_matches_the_declared_tables(database_url: str) -> None:
    upgrade(database_url, schema="shopdesk")
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = [
                d for d in compare_metadata(context, Base.metadata)
                if not (d[0] == "remove_table" and d[1].name == "alembic_version_shopdesk")
            ]  # fmt: skip
    finally:
        engine.dispose()

    assert differences == []
