"""Cancelling orders and changing addresses, one writer at a time and several at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot.backends.protocols import OrderConflict
from bot.backends.sql import SqlShopBackend
from bot.demo.rows import DemoShop
from bot.domain.aftersales import Resolution
from bot.domain.orders import OrderStatus
from tests.bot.backends.picks import clocked_backend, next_id, pick

NEW_ADDRESS = "Room 502, Building 3, 16 Xinhua Street, Tongzhou District, Beijing"


@pytest.fixture
def backend(seeded_url: str) -> Iterator[SqlShopBackend]:
    shop = clocked_backend(seeded_url)
    yield shop
    shop.close()


async def test_cancel_a_paid_order_once(
    backend: SqlShopBackend, seeded_url: str, expected: DemoShop
) -> None:
    paid, _ = pick(expected, "paid")
    cancelled = await backend.cancel_order(paid["number"])
    assert (cancelled.number, cancelled.status) == (paid["number"], OrderStatus.CANCELLED)
    assert cancelled.delivery_address == paid["delivery_address"]

    other = clocked_backend(seeded_url)  # a second connection pool: what the database holds
    stored = await other.get_order(paid["number"])
    assert stored is not None and stored.status is OrderStatus.CANCELLED
    with pytest.raises(OrderConflict, match="is cancelled"):
        await backend.cancel_order(paid["number"])

    shipped, _ = pick(expected, "in_transit")
    before = await other.get_shipment(shipped["number"])
    with pytest.raises(OrderConflict, match="is in_transit: it cannot be cancelled"):
        await backend.cancel_order(shipped["number"])
    after = await other.get_order(shipped["number"])
    assert after is not None and after.status is OrderStatus.IN_TRANSIT
    assert await other.get_shipment(shipped["number"]) == before
    for unknown in ("999999", "12345x"):
        with pytest.raises(OrderConflict, match="no order"):
            await backend.cancel_order(unknown)
    other.close()


async def test_change_the_address_before_shipping_only(
    backend: SqlShopBackend, expected: DemoShop
) -> None:
    packed, _ = pick(expected, "packed")
    changed = await backend.change_address(packed["number"], f"  {NEW_ADDRESS} ")
    assert (changed.delivery_address, changed.status) == (NEW_ADDRESS, OrderStatus.PACKED)
    stored = await backend.get_order(packed["number"])
    assert stored is not None and stored.delivery_address == NEW_ADDRESS

    on_its_way, _ = pick(expected, "out_for_delivery")
    with pytest.raises(OrderConflict, match="out_for_delivery"):
        await backend.change_address(on_its_way["number"], NEW_ADDRESS)
    kept = await backend.get_order(on_its_way["number"])
    assert kept is not None and kept.delivery_address == on_its_way["delivery_address"]
    for bad in ("", "   ", "Room 1\x00", "x" * 201):
        with pytest.raises(ValueError, match="address"):
            await backend.change_address(packed["number"], bad)


async def test_concurrent_writers_never_both_win(seeded_url: str, expected: DemoShop) -> None:
    first, second = clocked_backend(seeded_url), clocked_backend(seeded_url)
    paid, _ = pick(expected, "paid", skip=2)
    results = await asyncio.gather(
        first.cancel_order(paid["number"]),
        second.cancel_order(paid["number"]),
        return_exceptions=True,
    )
    assert sorted(type(result).__name__ for result in results) == ["Order", "OrderConflict"]

    orders = [pick(expected, "delivered", fresh=False, skip=n) for n in range(2, 5)]
    claims = await asyncio.gather(
        *(
            backend.create_quality_claim(
                order["number"],
                description="Box crushed",
                resolution=Resolution.REFUND,
                skus=(lines[0][0],),
            )
            for backend, (order, lines) in zip((first, second, first), orders, strict=True)
        )
    )
    serial = int(next_id(expected.claims, "QC")[-6:])
    assert sorted(claim.id for claim in claims) == [f"QC-2025-{serial + n:06d}" for n in range(3)]
    first.close()
    second.close()
