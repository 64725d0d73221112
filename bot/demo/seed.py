"""Writes the demo shop into its database: migrations first, then the generated rows.

Seeding runs on every `make run`, so it must be cheap when there is nothing
to do and must never mix two generations of data: it either leaves a seeded
shop alone or, with `force`, wipes and refills it in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

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
        if "id" not in table.c:
            continue
        next_id = sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0) + 1)
        sequence = sa.func.pg_get_serial_sequence(table.name, "id")
        connection.execute(sa.select(sa.func.setval(sequence, next_id.scalar_subquery(), False)))


def seed_demo_shop(url: str, *, today: date, force: bool = False) -> int:
    """The number of orders written; 0 when the shop already had orders and `force` is off."""
    upgrade(url, schema="shop")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            existing = connection.scalar(sa.select(sa.func.count()).select_from(ShopOrder))
            if existing and not force:
                logger.info("demo shop already holds %d orders; left as it is", existing)
                return 0
            for table in reversed(_TABLES):
                connection.execute(table.delete())
            shop = generate_demo_shop(today)
            rows: dict[str, Sequence[Mapping[str, Any]]] = {
                "shop_customers": shop.customers,
                "shop_orders": shop.orders,
                "shop_order_lines": shop.lines,
                "shop_shipments": shop.shipments,
                "shop_tracking_events": shop.events,
            }
            for table in _TABLES:
                connection.execute(table.insert(), rows[table.name])
            _resync_id_sequences(connection)
    finally:
        engine.dispose()
    logger.info("demo shop seeded with %d orders as of %s", len(shop.orders), today)
    return len(shop.orders)
