"""The demo shop's addresses, fees, after-sales cases and incidents fit its orders."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from bot.demo.aftersales import refund_method
from bot.demo.catalogue import CARRIERS, REGIONS
from bot.demo.delivery import DISTRICT_NAMES
from bot.demo.generate import generate_demo_shop
from bot.demo.incidents import HOLD_EVENTS
from bot.demo.rows import DemoShop, LineRow
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incidents import IncidentKind

TODAY = date(2025, 1, 8)
NOW = datetime.combine(TODAY, time(18), tzinfo=SHOP_TIMEZONE)


@pytest.fixture(scope="module")
def shop() -> DemoShop:
    return generate_demo_shop(TODAY)


def _lines(shop: DemoShop) -> dict[str, list[LineRow]]:
    lines: defaultdict[str, list[LineRow]] = defaultdict(list)
    for line in shop.lines:
        lines[line["order_number"]].append(line)
    return lines


def _goods(lines: list[LineRow]) -> Decimal:
    return sum((line["unit_price"] * line["quantity"] for line in lines), Decimal("0"))


def test_addresses_lie_where_the_parcels_go_and_fees_follow_the_policy(shop: DemoShop) -> None:
    regions = {region.label: region for region in REGIONS}
    customers = {customer["id"]: customer for customer in shop.customers}
    lines = _lines(shop)
    last_stop = {}
    for event in shop.events:  # the delivered event's location is "<city> <district>"
        if event["description"].startswith("Delivered"):
            last_stop[event["shipment_id"]] = event["location"]
    stops = {s["order_number"]: last_stop.get(s["id"]) for s in shop.shipments}
    addresses_per_customer = defaultdict(set)
    for order in shop.orders:
        region = regions[customers[order["customer_id"]]["region"]]
        address = order["delivery_address"]
        addresses_per_customer[order["customer_id"]].add(address)
        province = region.label.split(" (")[0]
        assert address.endswith(region.city if province == region.city else f", {province}")
        assert re.match(r"(Room \d{3,4}|\d{1,2}F), ", address)
        stop = stops.get(order["number"])
        if stop:
            district = stop.removeprefix(f"{region.city} ")
            assert f", {DISTRICT_NAMES.get(district, f'{district} District')}, " in address
        goods = _goods(lines[order["number"]])
        if any(line["kind"] != "regular" for line in lines[order["number"]]):
            assert order["shipping_fee"] == (Decimal("0") if goods > 199 else Decimal("12"))
        else:
            assert order["shipping_fee"] == (Decimal("0") if goods > 99 else Decimal("8"))
    assert max(len(found) for found in addresses_per_customer.values()) == 2
    fees = {order["shipping_fee"] for order in shop.orders}
    assert fees == {Decimal("0"), Decimal("8"), Decimal("12")}


def test_cases_fit_their_orders(shop: DemoShop) -> None:
    orders = {order["number"]: order for order in shop.orders}
    lines = _lines(shop)
    delivered = {s["order_number"]: s["delivered_at"] for s in shop.shipments}
    returns = {row["id"]: row for row in shop.returns}
    by_status = defaultdict(list)
    for order in shop.orders:
        by_status[order["status"]].append(order["number"])

    for row in shop.returns:
        order, at = orders[row["order_number"]], delivered[row["order_number"]]
        assert order["status"] in {"return_requested", "refunded"} and at is not None
        assert set(row["skus"]) <= {line["sku"] for line in lines[order["number"]]}
        assert at < row["created_at"] <= min(at + timedelta(days=7), NOW)
        fresh = {line["sku"] for line in lines[order["number"]] if line["kind"] != "regular"}
        if set(row["skus"]) & fresh:  # fresh food: quality only, within 48 hours
            assert row["kind"] == "quality" and row["created_at"] <= at + timedelta(hours=48)
    requested = by_status["return_requested"]
    assert sorted(row["order_number"] for row in shop.returns if row["status"] != "completed") == (
        requested
    )

    refunds = defaultdict(list)
    for refund in shop.refunds:
        order = orders[refund["order_number"]]
        refunds[order["number"]].append(refund)
        assert refund["method"] == refund_method(order["payment_method"]) != "cash_on_delivery"
        assert order["placed_at"] < refund["created_at"] <= NOW
        assert refund["expected_by"] > refund["created_at"].date()
        if refund["return_id"] is not None:
            assert returns[refund["return_id"]]["order_number"] == order["number"]
            assert returns[refund["return_id"]]["created_at"] <= refund["created_at"]
        if refund["status"] != "paid":
            assert order["status"] in {"return_requested", "delivered"}
    pending = [n for n in requested if any(r["status"] == "pending" for r in refunds[n])]
    assert 0.6 <= len(pending) / len(requested) < 1
    for number, order in orders.items():
        goods = _goods(lines[number])
        assert (
            sum((r["amount"] for r in refunds[number]), Decimal("0"))
            <= goods + (order["shipping_fee"])
        )
        paid = sum((r["amount"] for r in refunds[number] if r["status"] == "paid"), Decimal(0))
        if order["status"] != "cancelled":  # the rule the SQL adapter applies, too
            assert (paid >= goods) is (order["status"] == "refunded")
    assert any(refunds[number] for number in by_status["cancelled"])

    for claim in shop.claims:
        order, at = orders[claim["order_number"]], delivered[claim["order_number"]]
        assert order["status"] in {"delivered", "refunded"} and at is not None
        fresh = {line["sku"] for line in lines[order["number"]] if line["kind"] != "regular"}
        assert set(claim["skus"]) <= fresh
        assert at < claim["created_at"] <= min(at + timedelta(hours=48), NOW)
        assert claim["description"].endswith("Photos attached.")
    assert {c["status"] for c in shop.claims} >= {"open", "resolved"}


@pytest.mark.parametrize(
    ("attribute", "prefix"), [("returns", "R"), ("refunds", "RF"), ("claims", "QC")]
)
def test_case_ids_follow_creation_time(shop: DemoShop, attribute: str, prefix: str) -> None:
    cases = getattr(shop, attribute)
    pattern = re.compile(rf"{prefix}-(\d{{4}})-(\d{{6}})")
    serials = []
    for case in sorted(cases, key=lambda row: (row["created_at"], row["order_number"])):
        match = pattern.fullmatch(case["id"])
        assert match and int(match[1]) == case["created_at"].year
        serials.append(int(match[2]))
    assert serials == list(range(serials[0], serials[0] + len(cases)))
    assert {case["created_at"].year for case in cases} == {2024, 2025}  # spans New Year


def test_incidents_sit_around_today_and_hold_late_parcels(shop: DemoShop) -> None:
    incidents = {incident["id"]: incident for incident in shop.incidents}
    active = [i for i in shop.incidents if i["started_at"] <= NOW and i["resolved_at"] is None]
    assert [i["id"] for i in active] == [3, 4]
    lockdown, outage = incidents[3], incidents[4]
    assert lockdown["kind"] == "regional_lockdown" and lockdown["regions"] == ["Hubei (Wuhan)"]
    assert lockdown["started_at"].date() == TODAY - timedelta(days=3)
    assert lockdown["expected_recovery"] is not None
    assert lockdown["expected_recovery"].date() == TODAY + timedelta(days=2)
    assert "contactless" in lockdown["customer_note"]
    assert outage["kind"] == "carrier_outage" and outage["carriers"] == ["ZTO Express"]
    assert outage["started_at"].date() == TODAY - timedelta(days=1)
    assert outage["expected_recovery"] is not None
    assert outage["expected_recovery"].date() == TODAY + timedelta(days=1)
    assert "backup carrier" in outage["customer_note"]
    typhoon = incidents[1]
    assert typhoon["resolved_at"] is not None and typhoon["resolved_at"] < NOW
    assert typhoon["started_at"].date() == TODAY - timedelta(days=14)
    labels, carriers = {r.label for r in REGIONS}, {c.name for c in CARRIERS}
    for incident in shop.incidents:
        assert set(incident["regions"]) <= labels and set(incident["carriers"]) <= carriers

    customers = {c["id"]: c["region"] for c in shop.customers}
    orders = {o["number"]: o for o in shop.orders}
    events = defaultdict(list)
    for event in shop.events:
        events[event["shipment_id"]].append(event)
    held = defaultdict(list)
    for shipment in shop.shipments:
        order = orders[shipment["order_number"]]
        late = order["status"] in {"shipped", "in_transit"} and shipment["promised_date"] < TODAY
        region = customers[order["customer_id"]]
        covering = [
            i for i in active if region in i["regions"] or shipment["carrier"] in i["carriers"]
        ]
        if not late or not covering:
            continue
        incident = max(covering, key=lambda i: i["severity"])
        last = events[shipment["id"]][-1]
        assert last["description"] == HOLD_EVENTS[IncidentKind(incident["kind"])]
        assert incident["started_at"] < last["at"] < NOW
        if shipment["estimated_date"] is not None:
            assert incident["expected_recovery"] is not None
            assert shipment["estimated_date"] > incident["expected_recovery"].date()
        held[incident["id"]].append(order["number"])
    assert len(held[3]) >= 2 and len(held[4]) >= 5
