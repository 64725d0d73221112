"""What Shopdesk needs from a shop's order and logistics systems.

Adapters take and return domain objects. They may be slow or fail: callers
bound every call with a timeout (see `bot.domain.order_lookup`), and adapters
raise `BackendUnavailable` for anything that is the backend's fault and
`OrderConflict` when the order's state no longer allows the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol

from bot.domain.aftersales import (
    QualityClaim,
    Refund,
    RefundStatus,
    Resolution,
    ReturnKind,
    ReturnRequest,
)
from bot.domain.orders import Order, OrderInScope, Shipment


class BackendUnavailable(Exception):
    """The backend could not answer (down, timed out, broken); not the customer's fault."""


class OrderConflict(Exception):
    """The order changed meanwhile (shipped, already cancelled); the change was not made."""


class OrderBackend(Protocol):
    async def open_orders_in_scope(
        self,
        *,
        regions: Sequence[str],
        carriers: Sequence[str],
        placed_from: date | None = None,
        placed_to: date | None = None,
    ) -> list[OrderInScope]:
        """Orders still awaiting delivery to one of `regions` or with one of `carriers`
        (an order not yet shipped has no carrier), placed in the date range if given."""
        ...

    async def get_order(self, order_number: str) -> Order | None:
        """The order with this number, or None if there is no such order."""
        ...

    async def cancel_order(self, order_number: str) -> Order:
        """Cancels an order not yet shipped; raises OrderConflict otherwise."""
        ...

    async def change_address(self, order_number: str, address: str) -> Order:
        """Changes the delivery address of an order not yet shipped."""
        ...

    async def create_return(
        self, order_number: str, *, kind: ReturnKind, skus: tuple[str, ...], reason: str
    ) -> ReturnRequest:
        """Records a return request and moves the order to `return_requested`."""
        ...

    async def list_returns(self, order_number: str) -> list[ReturnRequest]: ...

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
    ) -> Refund: ...

    async def list_refunds(self, order_number: str) -> list[Refund]: ...

    async def create_quality_claim(
        self,
        order_number: str,
        *,
        description: str,
        resolution: Resolution,
        skus: tuple[str, ...],
    ) -> QualityClaim:
        """Files a claim; raises OrderConflict if one of the SKUs has a claim in progress."""
        ...

    async def list_quality_claims(self, order_number: str) -> list[QualityClaim]:
        """The order's claims, oldest first, settled ones included."""
        ...


class LogisticsBackend(Protocol):
    async def delivery_network(self) -> tuple[list[str], list[str]]:
        """The regions the shop delivers to and the carriers it ships with, by the names its
        orders use: what an incident's scope can name."""
        ...

    async def get_shipment(self, order_number: str) -> Shipment | None:
        """The order's shipment with its tracking events, or None if not shipped."""
        ...
