"""Incidents through the SQL adapter: which are active when, and what they explain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from bot.backends.sql import SqlShopBackend
from bot.demo.incidents import HOLD_EVENTS
from bot.demo.rows import DemoShop
from tests.bot.backends.picks import NOW, TODAY, clocked_backend


@pytest.fixture
def backend(seeded_url: str) -> Iterator[SqlShopBackend]:
    shop = clocked_backend(seeded_url)
    yield shop
    shop.close()


async def test_active_and_resolved_incidents(backend: SqlShopBackend, expected: DemoShop) -> None:
    every = await backend.list_incidents()
    assert [incident.id for incident in every] == [4, 3, 2, 1]
    for incident in every:
        row = next(i for i in expected.incidents if i["id"] == incident.id)
        assert (incident.kind.value, incident.title, incident.severity) == (
            row["kind"],
            row["title"],
            row["severity"],
        )
        assert (incident.regions, incident.carriers) == (
            tuple(row["regions"]),
            tuple(row["carriers"]),
        )
        assert (incident.started_at, incident.expected_recovery, incident.resolved_at) == (
            row["started_at"],
            row["expected_recovery"],
            row["resolved_at"],
        )
        assert incident.customer_note == row["customer_note"]

    typhoon, power = every[3], every[2]
    assert power.resolved_at is not None and typhoon.resolved_at is not None
    cases = {
        NOW: [4, 3],
        typhoon.started_at - timedelta(minutes=1): [],
        typhoon.started_at + timedelta(hours=1): [1],
        typhoon.resolved_at: [],  # resolved at that moment: over
        power.started_at: [2],
        power.resolved_at - timedelta(minutes=1): [2],
        power.resolved_at: [],
    }
    for at, ids in cases.items():
        assert [i.id for i in await backend.active_incidents(at=at)] == ids, at
    with pytest.raises(ValueError, match="aware"):
        await backend.active_incidents(at=datetime(2025, 1, 8, 12))


async def test_active_incidents_explain_late_parcels(
    backend: SqlShopBackend, expected: DemoShop
) -> None:
    active = await backend.active_incidents(at=NOW)
    customers = {c["id"]: c["region"] for c in expected.customers}
    covered: dict[int, int] = {3: 0, 4: 0}
    for row in expected.shipments:
        order_row = next(o for o in expected.orders if o["number"] == row["order_number"])
        region = customers[order_row["customer_id"]]
        if order_row["status"] != "in_transit" or row["promised_date"] >= TODAY:
            continue
        incident = next(
            (i for i in active if i.affects(region=region, carrier=row["carrier"])), None
        )
        if incident is None:
            continue
        shipment = await backend.get_shipment(row["order_number"])
        assert shipment is not None and shipment.latest_event is not None
        assert shipment.latest_event.description in HOLD_EVENTS.values()
        assert shipment.latest_event.at > min(i.started_at for i in active)
        covered[incident.id] += 1
    assert covered[3] >= 2 and covered[4] >= 5
