"""Alembic environment of the demo shop's database, driven by `bot.storage.migrate`.

There is no alembic.ini: the URL and script location come from the Config
that `bot.storage.migrate` builds. The shop keeps its own version table, so
its history and Shopdesk's never collide when both share one database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from bot.storage.db import make_engine
from bot.storage.shop_tables import ShopBase

VERSION_TABLE = "alembic_version_shop"
target_metadata = ShopBase.metadata


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set; use bot.storage.migrate.upgrade()")
    return url


def _is_sqlite(url: str) -> bool:
    return sa.make_url(url).get_backend_name() == "sqlite"


def run_migrations_offline() -> None:
    """Writes the SQL instead of running it (`alembic upgrade --sql`)."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        version_table=VERSION_TABLE,
        render_as_batch=_is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Batch mode on SQLite, which cannot ALTER most things in place: it rebuilds the table."""
    url = _url()
    engine = make_engine(url)  # also creates the directory of a new SQLite file
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                version_table=VERSION_TABLE,
                render_as_batch=_is_sqlite(url),
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
