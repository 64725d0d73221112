"""Tracker fixtures and in-memory shops for action tests, in the style of the Rasa demo bots."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.backends.protocols import OrderConflict
from bot.domain.aftersales import (
    QualityClaim,
    Refund,
    RefundStatus,
    Resolution,
    ReturnKind,
    ReturnRequest,
)
from bot.domain.incidents import Incident
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
    """A shop backend over dictionaries, optionally slow, that records what was changed."""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        order: Order = ORDER,
        shipment: Shipment | None = SHIPMENT,
        incidents: tuple[Incident, ...] = (),
    ) -> None:
        self.delay = delay
        self.finished_calls = 0
        self.order = order
        self.shipment = shipment
        self.incidents = incidents
        self.refunds: list[Refund] = []
        self.returns: list[ReturnRequest] = []
        self.claims: list[QualityClaim] = []

    async def _answer(self, value: Any) -> Any:
        await asyncio.sleep(self.delay)
        self.finished_calls += 1
        return value

    async def get_order(self, order_number: str) -> Order | None:
        return await self._answer(self.order if order_number == self.order.number else None)

    async def get_shipment(self, order_number: str) -> Shipment | None:
        return await self._answer(self.shipment if order_number == self.order.number else None)

    async def active_incidents(self, *, at: datetime) -> list[Incident]:
        return await self._answer([i for i in self.incidents if i.is_active(at)])

    async def list_incidents(self) -> list[Incident]:
        return await self._answer(list(self.incidents))

    async def cancel_order(self, order_number: str) -> Order:
        if self.order.status not in (
            OrderStatus.PENDING_PAYMENT,
            OrderStatus.PAID,
            OrderStatus.PACKED,
        ):
            raise OrderConflict(order_number)
        self.order = replace(self.order, status=OrderStatus.CANCELLED)
        return await self._answer(self.order)

    async def change_address(self, order_number: str, address: str) -> Order:
        self.order = replace(self.order, delivery_address=address)
        return await self._answer(self.order)

    async def create_return(
        self, order_number: str, *, kind: ReturnKind, skus: tuple[str, ...], reason: str
    ) -> ReturnRequest:
        request = ReturnRequest(
            f"R-2026-{len(self.returns) + 1:06d}",
            order_number,
            kind,
            skus,
            reason,
            datetime(2026, 11, 20, 12, 0),
        )
        self.returns.append(request)
        self.order = replace(self.order, status=OrderStatus.RETURN_REQUESTED)
        return await self._answer(request)

    async def list_returns(self, order_number: str) -> list[ReturnRequest]:
        return await self._answer(list(self.returns))

    async def create_refund(
        self,
        order_number: str,
        *,
        amount: Decimal,
        method: str,
        status: RefundStatus,
        expected_by: date,
        reason: str,
        return_id: str | None = None,
    ) -> Refund:
        refund = Refund(
            f"RF-2026-{len(self.refunds) + 1:06d}",
            order_number,
            amount,
            method,
            status,
            datetime(2026, 11, 20, 12, 0),
            expected_by,
            reason,
            return_id,
        )
        self.refunds.append(refund)
        return await self._answer(refund)

    async def list_refunds(self, order_number: str) -> list[Refund]:
        return await self._answer(list(self.refunds))

    async def create_quality_claim(
        self, order_number: str, *, description: str, resolution: Resolution, skus: tuple[str, ...]
    ) -> QualityClaim:
        claim = QualityClaim(
            f"QC-2026-{len(self.claims) + 1:06d}",
            order_number,
            description,
            resolution,
            skus,
            datetime(2026, 11, 20, 12, 0),
        )
        self.claims.append(claim)
        return await self._answer(claim)


def lookup_over(shop: InMemoryShop, *, timeout: float = 2.0) -> OrderDesk:
    return OrderDesk(orders=shop, logistics=shop, timeout_seconds=timeout)


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
