"""Everything the after-sales skills do to an order, each backend call bounded by a timeout.

`OrderLookup` verifies and reports; `OrderDesk` adds the changes (cancel,
address, returns, refunds, claims) and the incident view. Rules decide, the
desk only carries out what the rules allowed, so a skill reads:
load -> assess (pure rule) -> confirm with the customer -> desk.apply.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from bot.backends.protocols import (
    BackendUnavailable,
    LogisticsBackend,
    OrderBackend,
    OrderConflict,
)
from bot.domain.aftersales import QualityClaim, Refund, Resolution, ReturnKind, ReturnRequest
from bot.domain.delays import DelayAssessment, assess_delay
from bot.domain.incidents import Incident
from bot.domain.order_lookup import OrderLookup
from bot.domain.orders import Order, OrderInScope, Shipment
from bot.domain.refunds import RefundPlan
from bot.domain.returns import ReturnEligibility

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderFile:
    """An order with what the after-sales rules need about it."""

    order: Order
    shipment: Shipment | None
    returns: tuple[ReturnRequest, ...] = ()
    refunds: tuple[Refund, ...] = ()
    claims: tuple[QualityClaim, ...] = ()


class IncidentSource(Protocol):
    """Where declared incidents are read: Shopdesk's registry (bot/storage/incidents.py)."""

    async def active_incidents(self, *, at: datetime) -> list[Incident]: ...


class OrderDesk(OrderLookup):
    def __init__(
        self,
        *,
        orders: OrderBackend,
        logistics: LogisticsBackend,
        incidents: IncidentSource,
        timeout_seconds: float,
    ) -> None:
        super().__init__(orders=orders, logistics=logistics, timeout_seconds=timeout_seconds)
        self._incidents = incidents

    async def order_file(
        self, order_number: str, *, with_aftersales: bool = False
    ) -> OrderFile | None:
        order = await self._bounded(self._orders.get_order(order_number))
        if order is None:
            return None
        shipment = await self._bounded(self._logistics.get_shipment(order_number))
        if not with_aftersales:
            return OrderFile(order, shipment)
        returns = await self._bounded(self._orders.list_returns(order_number))
        refunds = await self._bounded(self._orders.list_refunds(order_number))
        claims = await self._bounded(self._orders.list_quality_claims(order_number))
        return OrderFile(order, shipment, tuple(returns), tuple(refunds), tuple(claims))

    async def delivery_network(self) -> tuple[list[str], list[str]]:
        return await self._bounded(self._logistics.delivery_network())

    async def open_orders_in_scope(
        self,
        *,
        regions: Sequence[str],
        carriers: Sequence[str],
        placed_from: date | None = None,
        placed_to: date | None = None,
    ) -> list[OrderInScope]:
        return await self._bounded(
            self._orders.open_orders_in_scope(
                regions=regions, carriers=carriers, placed_from=placed_from, placed_to=placed_to
            )
        )

    async def active_incidents(self, *, at: datetime) -> list[Incident]:
        return await self._bounded(self._incidents.active_incidents(at=at))

    async def delay(self, file: OrderFile, *, now: datetime) -> DelayAssessment:
        incidents = await self.active_incidents(at=now)
        return assess_delay(file.order, file.shipment, incidents, today=now.date())

    async def cancel(self, order_number: str) -> Order:
        return await self._bounded(self._orders.cancel_order(order_number))

    async def change_address(self, order_number: str, address: str) -> Order:
        return await self._bounded(self._orders.change_address(order_number, address))

    async def open_return(
        self, order_number: str, eligibility: ReturnEligibility, *, reason: str
    ) -> ReturnRequest:
        skus = tuple(line.sku for line in eligibility.returnable)
        return await self._bounded(
            self._orders.create_return(
                order_number, kind=ReturnKind.NO_REASON, skus=skus, reason=reason
            )
        )

    async def issue_refund(self, order_number: str, plan: RefundPlan) -> Refund:
        return await self._bounded(
            self._orders.create_refund(
                order_number,
                amount=plan.amount,
                method=plan.method,
                status=plan.status,
                expected_by=plan.expected_by,
                reason=plan.reason,
                return_id=plan.return_id,
            )
        )

    async def refund_after_change(self, order_number: str, plan: RefundPlan) -> Refund | None:
        """The refund that follows a change already made (a claim filed, a return opened,
        an order cancelled); None if it could not be made.

        Not an exception: the caller must tell the customer what was done and have a
        person finish the refund, never report the whole as "nothing changed".
        """
        try:
            return await self.issue_refund(order_number, plan)
        except (OrderConflict, BackendUnavailable) as error:
            logger.warning("a refund after a change was not made (%s)", type(error).__name__)
            return None

    async def file_claim(
        self, order_number: str, *, description: str, resolution: Resolution, skus: tuple[str, ...]
    ) -> QualityClaim:
        return await self._bounded(
            self._orders.create_quality_claim(
                order_number, description=description, resolution=resolution, skus=skus
            )
        )
