"""Writes the demo shop into its database: migrations first, then the generated rows.

Seeding runs on every `make run`, so it must be cheap when there is nothing
to do and must never mix two generations of data: it either leaves a seeded
shop alone or, with `force`, wipes and refills it in one transaction. A shop
seeded before orders had addresses (migration 0002 gave them blank ones) is
refilled too: its after-sales cases and incidents would be missing.
"""

from __future__ import annotations

import logging
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.demo.generate import generate_demo_shop
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.shop_tables import ShopBase, ShopOrder

logger = logging.getLogger(__name__)

# Parents before children; wiping goes the other way.
_TABLES = ShopBase.metadata.sorted_tables


def _resync_id_sequences(connection: Connection) -> None:
    """Explicit ids keep reseeds identical, but PostgreSQL's sequences do not see them."""
    if connection.dialect.name != "postgresql":
        return
    for table in _TABLES:
        if "id" not in table.c or not isinstance(table.c.id.type, sa.Integer):
            continue
        next_id = sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0) + 1)
        sequence = sa.func.pg_get_serial_sequence(table.name, "id")
        connection.execute(sa.select(sa.func.setval(sequence, next_id.scalar_subquery(), False)))


def _seeded_before_addresses(connection: Connection) -> bool:
    blank = sa.select(ShopOrder.number).where(ShopOrder.delivery_address == "").limit(1)
    return connection.scalar(blank) is not None


def seed_demo_shop(url: str, *, today: date, force: bool = False) -> int:
    """The number of orders written; 0 when the shop already had orders and `force` is off."""
    upgrade(url, schema="shop")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            existing = connection.scalar(sa.select(sa.func.count()).select_from(ShopOrder))
            if existing and not force:
                if not _seeded_before_addresses(connection):
                    logger.info("demo shop already holds %d orders; left as it is", existing)
                    return 0
                logger.info("demo shop was seeded before after-sales data existed; reseeding")
            for table in reversed(_TABLES):
                connection.execute(table.delete())
            shop = generate_demo_shop(today)
            rows = shop.rows_by_table()
            for table in _TABLES:
                if rows[table.name]:
                    connection.execute(table.insert(), rows[table.name])
            _resync_id_sequences(connection)
    finally:
        engine.dispose()
    logger.info("demo shop seeded with %d orders as of %s", len(shop.orders), today)
    return len(shop.orders)
