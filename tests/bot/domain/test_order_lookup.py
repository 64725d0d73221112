"""The verified lookup: same answer for unknown orders and wrong proofs, bounded waits."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.backends.protocols import BackendUnavailable
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
from bot.domain.verification import ContactProof
from tests.support.memory_shop import MemoryShop

BEIJING = timezone(timedelta(hours=8))
TODAY = date(2025, 1, 8)
CUSTOMER = Customer(7, "Li Na", "+86 139 8765 4321", "li.na@example.org", "Beijing")
ORDER = Order(
    number="100245",
    status=OrderStatus.IN_TRANSIT,
    placed_at=datetime(2025, 1, 4, 10, 0, tzinfo=BEIJING),
    customer=CUSTOMER,
    lines=(OrderLine("HM-3001", "Rice cooker, 4 L", 1, Decimal("399.00"), GoodsKind.REGULAR),),
)
SHIPMENT = Shipment(
    order_number="100245",
    carrier="JD Logistics",
    tracking_number="JDVA12345678901",
    shipped_at=datetime(2025, 1, 4, 18, 0, tzinfo=BEIJING),
    promised_date=date(2025, 1, 7),
    events=(
        TrackingEvent(
            datetime(2025, 1, 4, 18, 0, tzinfo=BEIJING),
            "Beijing Daxing warehouse",
            "Picked up by JD Logistics",
        ),
    ),
)


class FakeShop(MemoryShop):
    """Answers from dicts, optionally after a delay, and counts the calls it gets."""

    def __init__(
        self,
        orders: dict[str, Order] | None = None,
        shipments: dict[str, Shipment] | None = None,
        delay: float = 0.0,
    ) -> None:
        super().__init__(order=ORDER, shipment=SHIPMENT)
        self.orders = {ORDER.number: ORDER} if orders is None else orders
        self.shipments = {SHIPMENT.order_number: SHIPMENT} if shipments is None else shipments
        self.delay = delay
        self.calls = 0

    async def get_order(self, order_number: str) -> Order | None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.orders.get(order_number)

    async def get_shipment(self, order_number: str) -> Shipment | None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.shipments.get(order_number)


class BrokenShop(MemoryShop):
    def __init__(self, error: Exception) -> None:
        super().__init__(order=ORDER, shipment=SHIPMENT)
        self.error = error

    async def get_order(self, order_number: str) -> Order | None:
        raise self.error

    async def get_shipment(self, order_number: str) -> Shipment | None:
        raise self.error


def _lookup(
    shop: FakeShop | BrokenShop, logistics: FakeShop | None = None, timeout: float = 1.0
) -> OrderLookup:
    return OrderLookup(orders=shop, logistics=logistics or shop, timeout_seconds=timeout)


@pytest.mark.parametrize(
    "proof",
    [ContactProof("phone_last4", "4321"), ContactProof("email", "li.na@example.org")],
)
async def test_right_proof_verifies(proof: ContactProof) -> None:
    shop = FakeShop()
    owner = shop.orders["100245"].customer.id
    assert await _lookup(shop).verify("100245", proof) == owner


@pytest.mark.parametrize(
    ("order_number", "proof"),
    [
        ("100245", ContactProof("phone_last4", "1234")),  # wrong proof
        ("100245", ContactProof("email", "someone@example.org")),
        ("100999", ContactProof("phone_last4", "4321")),  # no such order
    ],
)
async def test_unknown_order_and_wrong_proof_look_the_same(
    order_number: str, proof: ContactProof
) -> None:
    assert await _lookup(FakeShop()).verify(order_number, proof) is None


async def test_status_report_for_a_known_order() -> None:
    report = await _lookup(FakeShop()).status_report("100245", today=TODAY)
    assert report is not None
    assert report.status is OrderStatus.IN_TRANSIT
    assert report.carrier == "JD Logistics"
    assert report.tracking_number == "JDVA12345678901"
    assert report.is_late is True  # promised for 7 Jan, still on the way on 8 Jan


async def test_status_report_for_an_unknown_order_skips_logistics() -> None:
    shop = FakeShop()
    assert await _lookup(shop).status_report("100999", today=TODAY) is None
    assert shop.calls == 1


async def test_slow_backend_is_cut_off_at_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match=r"within 0\.2s"):
        await _lookup(FakeShop(delay=5.0), timeout=0.2).verify(
            "100245", ContactProof("phone_last4", "4321")
        )
    assert time.monotonic() - started < 1.0


async def test_slow_logistics_alone_is_also_cut_off() -> None:
    started = time.monotonic()
    lookup = _lookup(FakeShop(), logistics=FakeShop(delay=5.0), timeout=0.2)
    with pytest.raises(BackendUnavailable):
        await lookup.status_report("100245", today=TODAY)
    assert time.monotonic() - started < 1.0


async def test_failing_backend_becomes_unavailable() -> None:
    with pytest.raises(BackendUnavailable, match="backend failed: ConnectionResetError") as caught:
        await _lookup(BrokenShop(ConnectionResetError("peer reset"))).verify(
            "100245", ContactProof("phone_last4", "4321")
        )
    assert isinstance(caught.value.__cause__, ConnectionResetError)


async def test_adapter_own_unavailable_error_passes_through_unchanged() -> None:
    error = BackendUnavailable("shop database: OperationalError")
    with pytest.raises(BackendUnavailable) as caught:
        await _lookup(BrokenShop(error)).status_report("100245", today=TODAY)
    assert caught.value is error
