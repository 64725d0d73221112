"""The demo shop's schema and seed: realistic, consistent with each status, reproducible."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.demo.catalogue import CARRIERS, EMAIL_DOMAINS
from bot.demo.generate import STATUS_COUNTS, generate_demo_shop
from bot.demo.listing import demo_orders
from bot.demo.seed import seed_demo_shop
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.orders import ON_THE_WAY, OrderStatus
from bot.storage.migrate import alembic_config, upgrade
from bot.storage.shop_tables import ShopBase

TODAY = date(2025, 1, 8)
LOOKED_AT = datetime.combine(TODAY, time(18), tzinfo=SHOP_TIMEZONE)
SHIPPING_STATUSES = {s.value for s in ON_THE_WAY} | {"delivered", "return_requested"}
NEVER_SHIPPED = {"pending_payment", "paid", "packed", "cancelled"}
AWAITING_DELIVERY = {
    "pending_payment",
    "paid",
    "packed",
    "shipped",
    "in_transit",
    "out_for_delivery",
}


def _dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        sa.select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in ShopBase.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_schema_matches_the_models_and_downgrades(database_url: str) -> None:
    upgrade(database_url, schema="shop")
    upgrade(database_url, schema="shop")  # at head already: nothing to do
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": "alembic_version_shop"}
            )
            assert compare_metadata(context, ShopBase.metadata) == []
            assert context.get_current_revision() == "0002_aftersales_and_incidents"
        command.downgrade(alembic_config(database_url, schema="shop"), "base")
        names = set(sa.inspect(engine).get_table_names())
        assert not {table.name for table in ShopBase.metadata.sorted_tables} & names
    finally:
        engine.dispose()


def test_seed_is_idempotent_and_force_reseeds_identically(database_url: str) -> None:
    assert seed_demo_shop(database_url, today=TODAY) == 1000
    first = _dump(database_url)
    assert seed_demo_shop(database_url, today=TODAY) == 0
    assert seed_demo_shop(database_url, today=TODAY, force=True) == 1000
    assert _dump(database_url) == first
    shop = generate_demo_shop(TODAY)
    assert {name: len(rows) for name, rows in first.items()} == {
        "shop_customers": 240,
        "shop_orders": 1000,
        "shop_order_lines": len(shop.lines),
        "shop_shipments": len(shop.shipments),
        "shop_tracking_events": len(shop.events),
        "shop_returns": len(shop.returns),
        "shop_refunds": len(shop.refunds),
        "shop_quality_claims": len(shop.claims),
        "shop_incidents": 4,
    }
    assert len(shop.returns) > 50 and len(shop.refunds) > 50 and len(shop.claims) > 5


def _count(url: str, *tables: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) or 0
                for name in tables
            }
    finally:
        engine.dispose()


def test_upgrade_to_0002_keeps_existing_rows_and_reseeds_them(database_url: str) -> None:
    """A shop seeded before 0002 keeps its orders through the migration, both ways."""
    config = alembic_config(database_url, schema="shop")
    command.upgrade(config, "0001_demo_shop")
    engine = sa.create_engine(database_url)
    placed = datetime(2025, 1, 2, 9, 30, tzinfo=UTC)
    try:
        with engine.begin() as connection:  # what a 0001 seed wrote, in 0001's columns
            connection.execute(
                sa.text(
                    "INSERT INTO shop_customers (id, name, phone, email, region) VALUES "
                    "(1, 'Li Na', '+86 139 8765 4321', 'li.na@example.org', 'Beijing')"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO shop_orders (number, customer_id, status, placed_at, "
                    "payment_method) VALUES ('100001', 1, 'paid', :placed, 'wallet')"
                ),
                {"placed": placed},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO shop_order_lines (id, order_number, line_no, sku, name, "
                    "quantity, unit_price, kind) VALUES "
                    "(1, '100001', 1, 'HM-3001', 'Rice cooker, 4 L', 1, 399.00, 'regular')"
                )
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            order = connection.execute(
                sa.text("SELECT status, delivery_address, shipping_fee FROM shop_orders")
            ).one()
        assert (order.status, order.delivery_address, Decimal(order.shipping_fee)) == (
            "paid",
            "",
            Decimal("0"),
        )
        assert _count(database_url, "shop_order_lines", "shop_incidents") == {
            "shop_order_lines": 1,
            "shop_incidents": 0,
        }
    finally:
        engine.dispose()

    # Blank addresses give the old seed away: it is replaced, not left without incidents.
    assert seed_demo_shop(database_url, today=TODAY) == 1000
    assert seed_demo_shop(database_url, today=TODAY) == 0
    kept = ("shop_orders", "shop_order_lines", "shop_shipments", "shop_tracking_events")
    seeded = _count(database_url, *kept)
    command.downgrade(config, "0001_demo_shop")  # on SQLite: no rebuild cascading to lines
    assert _count(database_url, *kept) == seeded
    engine = sa.create_engine(database_url)
    try:
        columns = {column["name"] for column in sa.inspect(engine).get_columns("shop_orders")}
        assert not {"delivery_address", "shipping_fee"} & columns
        assert "shop_incidents" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    command.upgrade(config, "head")
    assert _count(database_url, *kept) == seeded


def test_listing_shows_every_status_with_matching_contact_details(database_url: str) -> None:
    assert demo_orders(database_url, today=TODAY) == []  # before seeding: nothing, no error
    seed_demo_shop(database_url, today=TODAY)
    orders = demo_orders(database_url, today=TODAY)

    assert [o["order_number"] for o in orders] == [str(n) for n in range(100001, 101001)]
    assert Counter(o["status"] for o in orders) == {s.value: n for s, n in STATUS_COUNTS.items()}
    by_number = {o["order_number"]: o for o in orders}
    assert by_number["100245"]["phone_last4"] == str(by_number["100245"]["phone"])[-4:]

    carriers = {carrier.name: re.compile(carrier.tracking_pattern) for carrier in CARRIERS}
    for order in orders:
        assert re.fullmatch(r"\+86 1[3-9]\d \d{4} \d{4}", str(order["phone"]))
        assert str(order["email"]).rsplit("@", 1)[1] in EMAIL_DOMAINS
        goods = order["goods"]
        assert isinstance(goods, list) and goods and set(goods) <= {"regular", "fresh", "chilled"}
        if order["status"] in SHIPPING_STATUSES:
            assert carriers[str(order["carrier"])].fullmatch(str(order["tracking_number"]))
            assert date.fromisoformat(str(order["promised_date"]))
        if order["status"] in NEVER_SHIPPED:
            assert (order["carrier"], order["tracking_number"], order["promised_date"]) == (
                None,
                None,
                None,
            )
    refunded = [o for o in orders if o["status"] == "refunded"]
    assert 0 < sum(o["tracking_number"] is None for o in refunded) < len(refunded)

    on_the_way = [o for o in orders if o["status"] in {s.value for s in ON_THE_WAY}]
    late = [o for o in on_the_way if o["is_late"]]
    assert 0.18 <= len(late) / len(on_the_way) <= 0.32
    with_estimate = [o for o in late if o["estimated_date"]]
    assert 0 < len(with_estimate) < len(late)
    assert all(str(o["estimated_date"]) >= TODAY.isoformat() for o in with_estimate)
    assert not any(o["is_late"] for o in orders if o["status"] not in {s.value for s in ON_THE_WAY})

    shop = generate_demo_shop(TODAY)
    rows = {row["number"]: row for row in shop.orders}
    delivered = {s["order_number"]: s["delivered_at"] for s in shop.shipments}
    for order in orders:
        row = rows[str(order["order_number"])]
        assert order["delivery_address"] == row["delivery_address"] != ""
        assert order["shipping_fee"] == str(row["shipping_fee"]) in {"0.00", "8.00", "12.00"}
        at = delivered.get(row["number"])
        assert order["delivered_at"] == (at.isoformat() if at else None)
        assert order["lines"] == [
            {"sku": line["sku"], "name": line["name"], "kind": line["kind"],
             "quantity": line["quantity"], "unit_price": str(line["unit_price"])}
            for line in shop.lines if line["order_number"] == row["number"]
        ]  # fmt: skip
        # Active at 18:00 on TODAY: the Wuhan lockdown (3) and the ZTO outage (4).
        awaiting = order["status"] in AWAITING_DELIVERY
        expected = [3] if awaiting and order["region"] == "Hubei (Wuhan)" else []
        expected += [4] if awaiting and order["carrier"] == "ZTO Express" else []
        assert order["incident_ids"] == expected
    assert [3] in [o["incident_ids"] for o in late] and [4] in [o["incident_ids"] for o in late]


def test_generated_rows_tell_a_consistent_story() -> None:
    shop = generate_demo_shop(TODAY)
    customers = shop.customers
    assert len({c["phone"] for c in customers}) == len({c["email"] for c in customers}) == 240
    assert len({c["region"] for c in customers}) >= 10
    orders = {o["number"]: o for o in shop.orders}
    placed = [o["placed_at"] for o in shop.orders]
    assert placed == sorted(placed)  # numbers follow the order orders were placed in
    assert LOOKED_AT - timedelta(days=42) <= min(placed) < max(placed) <= LOOKED_AT
    for order in shop.orders:
        if order["status"] == OrderStatus.PENDING_PAYMENT:
            assert order["placed_at"] >= LOOKED_AT - timedelta(days=2)
            assert order["payment_method"] != "cash_on_delivery"

    fresh_orders = {line["order_number"] for line in shop.lines if line["kind"] != "regular"}
    events: dict[int, list[tuple[datetime, str]]] = {}
    for event in shop.events:
        events.setdefault(event["shipment_id"], []).append((event["at"], event["description"]))
    for shipment in shop.shipments:
        order = orders[shipment["order_number"]]
        times = [at for at, _ in events[shipment["id"]]]
        said = [description for _, description in events[shipment["id"]]]
        assert times == sorted(set(times)) and times[-1] <= LOOKED_AT
        assert times[0] == shipment["shipped_at"] > order["placed_at"]
        assert said[0] == f"Picked up by {shipment['carrier']}"
        promise = (shipment["promised_date"] - shipment["shipped_at"].date()).days
        assert promise in ((1, 2) if order["number"] in fresh_orders else (2, 3, 4, 5))
        delivered = order["status"] in {"delivered", "return_requested", "refunded"}
        assert (shipment["delivered_at"] is not None) is delivered
        assert said[-1].startswith("Delivered") is delivered
        assert ("Out for delivery" in said) is (delivered or order["status"] == "out_for_delivery")
        if shipment["delivered_at"] is not None:
            assert shipment["delivered_at"] == times[-1]
        if shipment["estimated_date"] is not None:
            assert shipment["promised_date"] < TODAY <= shipment["estimated_date"]


def test_generation_is_reproducible_and_moves_with_today() -> None:
    shop = generate_demo_shop(TODAY)
    assert asdict(shop) == asdict(generate_demo_shop(TODAY))
    later = generate_demo_shop(TODAY + timedelta(days=10))
    # Only the dates move: who ordered what, and so how each order verifies, stays put.
    assert later.customers == shop.customers
    assert later.lines == shop.lines
    assert [o["status"] for o in later.orders] == [o["status"] for o in shop.orders]
    shifts = {
        later_order["placed_at"] - order["placed_at"]
        for order, later_order in zip(shop.orders, later.orders, strict=True)
    }
    assert shifts == {timedelta(days=10)}
