"""Verified order lookups: the one service the order-status actions call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date
from typing import TypeVar

from bot.backends.protocols import (
    BackendUnavailable,
    LogisticsBackend,
    OrderBackend,
    OrderConflict,
)
from bot.domain.order_status import StatusReport, build_status_report
from bot.domain.verification import ContactProof, proves_ownership

T = TypeVar("T")


class OrderLookup:
    """Bounds every backend call by a timeout, so a customer never waits on a dead backend."""

    def __init__(
        self, *, orders: OrderBackend, logistics: LogisticsBackend, timeout_seconds: float
    ) -> None:
        self._orders = orders
        self._logistics = logistics
        self._timeout = timeout_seconds

    async def _bounded(self, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, timeout=self._timeout)
        except (BackendUnavailable, OrderConflict):
            raise
        except TimeoutError as error:
            raise BackendUnavailable(f"backend did not answer within {self._timeout}s") from error
        except Exception as error:  # an adapter's own failure is still the backend's
            raise BackendUnavailable(f"backend failed: {type(error).__name__}") from error

    async def verify(self, order_number: str, proof: ContactProof) -> int | None:
        """The owning customer's id when the proof holds; None for an unknown order and for
        a wrong proof alike."""
        order = await self._bounded(self._orders.get_order(order_number))
        if order is None or not proves_ownership(order.customer, proof):
            return None
        return order.customer.id

    async def belongs_to(self, order_number: str, customer_id: int) -> bool:
        """For a channel account already linked to `customer_id` by an earlier verification."""
        order = await self._bounded(self._orders.get_order(order_number))
        return order is not None and order.customer.id == customer_id

    async def status_report(self, order_number: str, *, today: date) -> StatusReport | None:
        order = await self._bounded(self._orders.get_order(order_number))
        if order is None:
            return None
        shipment = await self._bounded(self._logistics.get_shipment(order_number))
        return build_status_report(order, shipment, today=today)
