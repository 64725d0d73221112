"""The SQL adapter over the seeded demo shop, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.backends.factory import build_order_desk
from bot.backends.protocols import BackendUnavailable
from bot.backends.sql import SqlShopBackend
from bot.demo.rows import DemoShop, OrderRow
from bot.domain.incidents import Incident
from bot.domain.orders import GoodsKind, OrderStatus
from bot.domain.verification import ContactProof
from bot.settings import Settings
from bot.storage.db import make_engine

TODAY = date(2025, 1, 8)
DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/x"  # nothing listens on port 1


@pytest.fixture
def backend(seeded_url: str) -> Iterator[SqlShopBackend]:
    shop = SqlShopBackend(engine=make_engine(seeded_url), statement_timeout_seconds=2.0)
    yield shop
    shop.close()


def _first(shop: DemoShop, status: str, *, late: bool | None = None) -> OrderRow:
    shipments = {s["order_number"]: s for s in shop.shipments}
    for order in shop.orders:
        shipment = shipments.get(order["number"])
        is_late = bool(shipment and shipment["promised_date"] < TODAY)
        if order["status"] == status and (late is None or is_late is late):
            return order
    raise AssertionError(f"the seed has no {status} order")


async def test_get_order_reads_back_every_field(
    backend: SqlShopBackend, expected: DemoShop
) -> None:
    order = await backend.get_order("100245")
    assert order is not None
    row = next(o for o in expected.orders if o["number"] == "100245")
    customer = next(c for c in expected.customers if c["id"] == row["customer_id"])
    lines = [line for line in expected.lines if line["order_number"] == "100245"]
    assert order.number == "100245"
    assert order.status == OrderStatus(row["status"])
    assert order.placed_at == row["placed_at"]
    assert order.placed_at.utcoffset() is not None  # aware, in the shop's time zone
    assert order.payment_method == row["payment_method"]
    assert order.delivery_address == row["delivery_address"] != ""
    assert order.shipping_fee == row["shipping_fee"]
    assert isinstance(order.shipping_fee, Decimal)
    assert (order.customer.id, order.customer.name, order.customer.phone) == (
        customer["id"],
        customer["name"],
        customer["phone"],
    )
    assert (order.customer.email, order.customer.region) == (customer["email"], customer["region"])
    assert [(x.sku, x.name, x.quantity, x.unit_price, x.kind) for x in order.lines] == [
        (x["sku"], x["name"], x["quantity"], x["unit_price"], GoodsKind(x["kind"])) for x in lines
    ]
    assert all(isinstance(line.unit_price, Decimal) for line in order.lines)
    assert order.total == sum((x["unit_price"] * x["quantity"] for x in lines), Decimal("0"))


async def test_get_shipment_of_a_late_parcel(backend: SqlShopBackend, expected: DemoShop) -> None:
    number = _first(expected, "in_transit", late=True)["number"]
    row = next(s for s in expected.shipments if s["order_number"] == number)
    events = [e for e in expected.events if e["shipment_id"] == row["id"]]

    shipment = await backend.get_shipment(number)
    assert shipment is not None
    assert (shipment.carrier, shipment.tracking_number) == (row["carrier"], row["tracking_number"])
    assert shipment.shipped_at == row["shipped_at"]
    assert shipment.promised_date == row["promised_date"] < TODAY
    assert shipment.estimated_date == row["estimated_date"]
    assert shipment.delivered_at is None
    assert [(e.at, e.location, e.description) for e in shipment.events] == [
        (e["at"], e["location"], e["description"]) for e in events
    ]
    assert shipment.latest_event == shipment.events[-1]


async def test_delivered_parcel_has_its_delivery_time(
    backend: SqlShopBackend, expected: DemoShop
) -> None:
    number = _first(expected, "delivered")["number"]
    row = next(s for s in expected.shipments if s["order_number"] == number)
    shipment = await backend.get_shipment(number)
    assert shipment is not None
    assert shipment.delivered_at == row["delivered_at"]
    assert shipment.events[-1].description.startswith("Delivered")


async def test_unshipped_unknown_and_malformed_orders(
    backend: SqlShopBackend, expected: DemoShop
) -> None:
    paid = _first(expected, "paid")["number"]
    order = await backend.get_order(paid)
    assert order is not None and order.status is OrderStatus.PAID
    assert await backend.get_shipment(paid) is None
    assert await backend.get_order("999999") is None
    assert await backend.get_shipment("999999") is None
    for malformed in ("", "12345", "1002451", "10024a", " 100245", "١٠٠٢٤٥"):
        assert await backend.get_order(malformed) is None


async def test_malformed_numbers_never_reach_the_database() -> None:
    backend = SqlShopBackend(engine=make_engine(DOWN_URL))
    assert await backend.get_order("12345") is None
    assert await backend.get_shipment("abcdef") is None


async def test_database_down_is_unavailable_quickly() -> None:
    backend = SqlShopBackend(engine=make_engine(DOWN_URL))
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="OperationalError"):
        await backend.get_order("100245")
    with pytest.raises(BackendUnavailable):
        await backend.get_shipment("100245")
    assert time.monotonic() - started < 5.0
    backend.close()


async def test_database_without_the_shop_tables_is_unavailable(tmp_path: Path) -> None:
    backend = SqlShopBackend(engine=make_engine(f"sqlite:///{tmp_path}/empty.db"))
    with pytest.raises(BackendUnavailable):
        await backend.get_order("100245")
    backend.close()


@pytest.mark.parametrize("shop_template", ["postgresql"], indirect=True)
async def test_statement_timeout_cuts_a_blocked_query(seeded_url: str) -> None:
    backend = SqlShopBackend(engine=make_engine(seeded_url), statement_timeout_seconds=0.3)
    blocker = sa.create_engine(seeded_url)
    try:
        with blocker.connect() as connection:
            connection.execute(sa.text("LOCK TABLE shop_orders IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            with pytest.raises(BackendUnavailable) as caught:
                # The outer bound makes a missing statement timeout fail here, not hang.
                await asyncio.wait_for(backend.get_order("100245"), timeout=5.0)
            assert time.monotonic() - started < 2.0
            assert "statement timeout" in str(caught.value.__cause__)
            connection.rollback()
        order = await backend.get_order("100245")  # the lock is gone, and so is the timeout
        assert order is not None and order.number == "100245"
    finally:
        blocker.dispose()
        backend.close()


class _NoIncidents:
    async def active_incidents(self, *, at: datetime) -> list[Incident]:
        return []


async def test_factory_builds_a_working_lookup(seeded_url: str, expected: DemoShop) -> None:
    row = _first(expected, "out_for_delivery")
    customer = next(c for c in expected.customers if c["id"] == row["customer_id"])
    settings = Settings(shop_database_url=seeded_url, backend="sql", backend_timeout_seconds=3.0)
    lookup = build_order_desk(settings, incidents=_NoIncidents())
    last4 = customer["phone"][-4:]
    wrong = f"{(int(last4) + 1) % 10_000:04d}"
    assert await lookup.verify(row["number"], ContactProof("phone_last4", last4)) == customer["id"]
    by_email = await lookup.verify(row["number"], ContactProof("email", customer["email"]))
    assert by_email == customer["id"]
    assert await lookup.verify(row["number"], ContactProof("phone_last4", wrong)) is None
    assert await lookup.verify("999999", ContactProof("phone_last4", last4)) is None
    assert await lookup.belongs_to(row["number"], customer["id"]) is True
    assert await lookup.belongs_to(row["number"], customer["id"] + 1) is False
    assert await lookup.belongs_to("999999", customer["id"]) is False
    report = await lookup.status_report(row["number"], today=TODAY)
    assert report is not None
    assert report.status is OrderStatus.OUT_FOR_DELIVERY
    assert report.latest_event is not None
    assert report.latest_event.description == "Out for delivery"


def test_factory_rejects_an_unknown_backend() -> None:
    with pytest.raises(ValueError, match=r"unknown order backend 'rest' .*known: sql"):
        build_order_desk(Settings(backend="rest"), incidents=_NoIncidents())
