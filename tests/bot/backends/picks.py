"""Orders and ids to test the SQL adapter's changes with, found in the generated seed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from decimal import Decimal

from bot.backends.sql import SqlShopBackend
from bot.demo.rows import DemoShop, OrderRow
from bot.domain.clock import SHOP_TIMEZONE
from bot.storage.db import make_engine
from tests.bot.backends.conftest import SEEDED_FOR

TODAY = SEEDED_FOR
NOW = datetime.combine(TODAY, time(18, 30), tzinfo=SHOP_TIMEZONE)  # when new cases open


def clocked_backend(url: str) -> SqlShopBackend:
    return SqlShopBackend(engine=make_engine(url), statement_timeout_seconds=5.0, clock=lambda: NOW)


def pick(
    shop: DemoShop, status: str, *, fresh: bool | None = None, skip: int = 0
) -> tuple[OrderRow, list[tuple[str, Decimal]]]:
    """An order with that status (paid online, no after-sales case yet) and its lines' values."""
    cased = {row["order_number"] for row in [*shop.returns, *shop.refunds, *shop.claims]}
    for order in shop.orders:
        lines = [line for line in shop.lines if line["order_number"] == order["number"]]
        has_fresh = any(line["kind"] != "regular" for line in lines)
        if (
            order["status"] == status
            and order["payment_method"] != "cash_on_delivery"
            and order["number"] not in cased
            and fresh in (None, has_fresh)
        ):
            if skip == 0:
                return order, [(x["sku"], x["unit_price"] * x["quantity"]) for x in lines]
            skip -= 1
    raise AssertionError(f"the seed has no such {status} order")


def next_id(cases: Sequence[Mapping[str, object]], prefix: str) -> str:
    """One past the highest serial the seed wrote, in the year of NOW."""
    serial = max(int(str(case["id"])[-6:]) for case in cases)
    return f"{prefix}-2025-{serial + 1:06d}"
