"""Tracker fixtures and in-memory shops for action tests, in the style of the Rasa demo bots."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from bot.domain.order_desk import OrderDesk
from bot.domain.orders import (
    Customer,
    GoodsKind,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    TrackingEvent,
)
from bot.domain.proof_limits import ProofPolicy
from bot.security.proof_guard import ProofGuard
from bot.storage.db import make_engine, make_session_factory
from bot.storage.tables import Base
from tests.support.memory_shop import MemoryShop

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


class InMemoryShop(MemoryShop):
    """The memory shop holding this module's ORDER and SHIPMENT unless told otherwise."""

    def __init__(
        self, *, order: Order = ORDER, shipment: Shipment | None = SHIPMENT, **options: Any
    ) -> None:
        super().__init__(order=order, shipment=shipment, **options)


def lookup_over(shop: InMemoryShop, *, timeout: float = 2.0) -> OrderDesk:
    return OrderDesk(orders=shop, logistics=shop, incidents=shop, timeout_seconds=timeout)


@pytest.fixture(autouse=True)
def proof_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProofGuard:
    """The real guard over a throwaway SQLite file, so no action test touches var/; the
    incident contacts the delay skill notes go to the same file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'shopdesk.db'}")
    Base.metadata.create_all(engine)
    sessions = make_session_factory(engine)
    guard = ProofGuard(sessions, ProofPolicy())
    monkeypatch.setattr(services, "proof_guard", lambda: guard)
    monkeypatch.setattr(services, "shopdesk_sessions", lambda: sessions)
    return guard


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOMAIN_FILE.read_text())
    return loaded


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def form_tracker(
    *,
    slots: dict[str, Any] | None = None,
    new_slots: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    said: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker inside the lookup form, with `new_slots` just extracted from the last message,
    which came with the gateway's `metadata` (and, given `said`, that text and intent)."""
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
        latest_message={
            "text": "a customer message",
            "intent": {"name": "inform"},
            **(said or {}),
            "metadata": metadata or {},
        },
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "order_lookup_form"},
        latest_action_name="action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    """What the customer sees; the gateway-only custom messages are in `signals`."""
    return [
        message.get("response") or message.get("text") or ""
        for message in dispatcher.messages
        if not message.get("custom")
    ]


def signals(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    return [message["custom"] for message in dispatcher.messages if message.get("custom")]


def slot_values(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}
