"""The open orders an incident's scope covers, counted by the shop's own database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.backends.sql import SqlShopBackend
from bot.demo.rows import DemoShop
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incidents import covers
from bot.domain.orders import AWAITING_DELIVERY, OrderStatus
from tests.bot.backends.picks import clocked_backend


@pytest.fixture
def backend(seeded_url: str) -> Iterator[SqlShopBackend]:
    shop = clocked_backend(seeded_url)
    yield shop
    shop.close()


def _expected(
    shop: DemoShop, regions: list[str], carriers: list[str], days: tuple[object, object] | None
) -> set[str]:
    region_of = {c["id"]: c["region"] for c in shop.customers}
    carrier_of = {s["order_number"]: s["carrier"] for s in shop.shipments}
    found = set()
    for order in shop.orders:
        if OrderStatus(order["status"]) not in AWAITING_DELIVERY:
            continue
        region, carrier = region_of[order["customer_id"]], carrier_of.get(order["number"])
        if not covers(regions, carriers, region=region, carrier=carrier):
            continue
        placed = order["placed_at"].astimezone(SHOP_TIMEZONE).date()
        if days and not (days[0] <= placed <= days[1]):  # type: ignore[operator]
            continue
        found.add(order["number"])
    return found


@pytest.mark.parametrize(
    ("regions", "carriers"),
    [
        (["Hubei (Wuhan)"], []),
        ([], ["ZTO Express"]),
        (["Hubei (Wuhan)"], ["SF Express"]),  # SF Express orders to Wuhan, not all of either
    ],
)
async def test_the_scope_counts_the_same_orders_as_the_rule(
    backend: SqlShopBackend, expected: DemoShop, regions: list[str], carriers: list[str]
) -> None:
    found = await backend.open_orders_in_scope(regions=regions, carriers=carriers)
    assert {order.number for order in found} == _expected(expected, regions, carriers, None)
    assert found, "the demo shop has open orders in each of these scopes"
    assert all(order.status in AWAITING_DELIVERY for order in found)


async def test_a_date_range_keeps_only_orders_placed_in_it(
    backend: SqlShopBackend, expected: DemoShop
) -> None:
    every = await backend.open_orders_in_scope(regions=["Shanghai"], carriers=[])
    days = sorted(
        o["placed_at"].astimezone(SHOP_TIMEZONE).date()
        for o in expected.orders
        if o["number"] in {order.number for order in every}
    )
    start, end = days[len(days) // 2], days[len(days) // 2] + timedelta(days=1)
    found = await backend.open_orders_in_scope(
        regions=["Shanghai"], carriers=[], placed_from=start, placed_to=end
    )
    assert {o.number for o in found} == _expected(expected, ["Shanghai"], [], (start, end))
    assert 0 < len(found) < len(every)


async def test_the_delivery_network_names_what_orders_use(
    backend: SqlShopBackend, expected: DemoShop
) -> None:
    regions, carriers = await backend.delivery_network()
    assert regions == sorted({c["region"] for c in expected.customers})
    assert carriers == sorted({s["carrier"] for s in expected.shipments})
