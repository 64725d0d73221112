"""Tracker fixtures and in-memory shops for action tests, in the style of the Rasa demo bots."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.domain.order_lookup import OrderLookup
from bot.domain.orders import (
    Customer,
    GoodsKind,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    TrackingEvent,
)

TODAY = date(2026, 11, 20)
DOMAIN_FILE = Path(__file__).resolve().parents[2] / "domain.yml"

CUSTOMER = Customer(
    id=7, name="Li Wei", phone="+86 138 0013 4521", email="li.wei@example.com", region="Shanghai"
)
ORDER = Order(
    number="100245",
    status=OrderStatus.IN_TRANSIT,
    placed_at=datetime(2026, 11, 15, 10, 30),
    customer=CUSTOMER,
    lines=(OrderLine("EL-0042", "Rice cooker", 1, Decimal("399.00"), GoodsKind.REGULAR),),
)
SHIPMENT = Shipment(
    order_number="100245",
    carrier="SF Express",
    tracking_number="SF1234567890123",
    shipped_at=datetime(2026, 11, 16, 9, 0),
    promised_date=TODAY + timedelta(days=1),
    events=(
        TrackingEvent(datetime(2026, 11, 16, 9, 0), "Shanghai", "Picked up by the courier"),
        TrackingEvent(datetime(2026, 11, 18, 14, 5), "Wuhan hub", "Arrived at the sorting hub"),
    ),
)


class InMemoryShop:
    """A shop backend that answers from dictionaries, optionally after a delay."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.finished_calls = 0

    async def _answer(self, value: Any) -> Any:
        await asyncio.sleep(self.delay)
        self.finished_calls += 1
        return value

    async def get_order(self, order_number: str) -> Order | None:
        return await self._answer(ORDER if order_number == ORDER.number else None)

    async def get_shipment(self, order_number: str) -> Shipment | None:
        return await self._answer(SHIPMENT if order_number == SHIPMENT.order_number else None)


def lookup_over(shop: InMemoryShop, *, timeout: float = 2.0) -> OrderLookup:
    return OrderLookup(orders=shop, logistics=shop, timeout_seconds=timeout)


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOMAIN_FILE.read_text())
    return loaded


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def form_tracker(
    *, slots: dict[str, Any] | None = None, new_slots: dict[str, Any] | None = None
) -> Tracker:
    """A tracker inside the lookup form, with `new_slots` just extracted from the last message."""
    new_slots = new_slots or {}
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "a customer message", "parse_data": {}},
        *({"event": "slot", "name": name, "value": value} for name, value in new_slots.items()),
    ]
    all_slots = {
        "order_number": None,
        "order_contact": None,
        "verified_orders": None,
        "verification_failures": 0.0,
        "lookup_unavailable": False,
        "requested_slot": None,
        **(slots or {}),
        **new_slots,
    }
    return Tracker(
        sender_id="conversation-1",
        slots=all_slots,
        latest_message={"text": "a customer message", "intent": {"name": "inform"}},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "order_lookup_form"},
        latest_action_name="action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [message.get("response") or message.get("text") or "" for message in dispatcher.messages]


def slot_values(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}
