"""What Shopdesk needs from a shop's order and logistics systems.

Adapters take and return domain objects. They may be slow or fail: callers
bound every call with a timeout (see `bot.domain.order_lookup`), and adapters
raise `BackendUnavailable` for anything that is the backend's fault.
"""

from __future__ import annotations

from typing import Protocol

from bot.domain.orders import Order, Shipment


class BackendUnavailable(Exception):
    """The backend could not answer (down, timed out, broken); not the customer's fault."""


class OrderBackend(Protocol):
    async def get_order(self, order_number: str) -> Order | None:
        """The order with this number, or None if there is no such order."""
        ...


class LogisticsBackend(Protocol):
    async def get_shipment(self, order_number: str) -> Shipment | None:
        """The order's shipment with its tracking events, or None if not shipped."""
        ...
