"""An in-memory shop behind both backend protocols, for tests of the domain and actions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from bot.backends.protocols import OrderConflict
from bot.domain.aftersales import (
    QualityClaim,
    Refund,
    RefundStatus,
    Resolution,
    ReturnKind,
    ReturnRequest,
)
from bot.domain.claims import OPEN_CLAIM_STATUSES
from bot.domain.incidents import Incident, covers
from bot.domain.orders import AWAITING_DELIVERY, Order, OrderInScope, OrderStatus, Shipment

T = TypeVar("T")


class MemoryShop:
    """A shop with one order, optionally slow, that records what was changed.

    Tests override the methods they need to misbehave; everything else works.
    """

    def __init__(
        self,
        *,
        delay: float = 0.0,
        order: Order,
        shipment: Shipment | None,
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

    async def _answer(self, value: T) -> T:
        await asyncio.sleep(self.delay)
        self.finished_calls += 1
        return value

    async def get_order(self, order_number: str) -> Order | None:
        return await self._answer(self.order if order_number == self.order.number else None)

    async def get_shipment(self, order_number: str) -> Shipment | None:
        return await self._answer(self.shipment if order_number == self.order.number else None)

    async def delivery_network(self) -> tuple[list[str], list[str]]:
        carriers = [self.shipment.carrier] if self.shipment else []
        return await self._answer(([self.order.customer.region], carriers))

    async def open_orders_in_scope(
        self,
        *,
        regions: Sequence[str],
        carriers: Sequence[str],
        placed_from: date | None = None,
        placed_to: date | None = None,
    ) -> list[OrderInScope]:
        order, carrier = self.order, self.shipment.carrier if self.shipment else None
        placed = order.placed_at.date()
        covered = (
            order.status in AWAITING_DELIVERY
            and covers(regions, carriers, region=order.customer.region, carrier=carrier)
            and (placed_from is None or placed >= placed_from)
            and (placed_to is None or placed <= placed_to)
        )
        found = [OrderInScope(order.number, order.customer.id, order.status)] if covered else []
        return await self._answer(found)

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
        """Like the SQL adapter: one claim in progress per item."""
        taken = sorted(
            {sku for c in self.claims if c.status in OPEN_CLAIM_STATUSES for sku in c.skus}
            & set(skus)
        )
        if taken:
            raise OrderConflict(f"a quality claim is already open for {', '.join(taken)}")
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

    async def list_quality_claims(self, order_number: str) -> list[QualityClaim]:
        return await self._answer(list(self.claims))
