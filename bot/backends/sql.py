"""Order and logistics backend over a shop's SQL database (the demo shop's schema).

SQLAlchemy is synchronous, so each lookup runs in a worker thread; the
caller's timeout then frees the customer while the thread finishes. On
PostgreSQL a statement timeout also stops the query itself, so threads and
connections do not pile up behind a database that has become slow.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from bot.backends.protocols import BackendUnavailable
from bot.domain.orders import (
    Customer,
    GoodsKind,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    TrackingEvent,
)
from bot.storage.shop_tables import ShopOrder, ShopShipment

T = TypeVar("T")

_ORDER_NUMBER = re.compile(r"[0-9]{6}")  # not \d: that also matches non-ASCII digits


def _order_from_row(row: ShopOrder) -> Order:
    customer = row.customer
    return Order(
        number=row.number,
        status=OrderStatus(row.status),
        placed_at=row.placed_at,
        customer=Customer(
            id=customer.id,
            name=customer.name,
            phone=customer.phone,
            email=customer.email,
            region=customer.region,
        ),
        lines=tuple(
            OrderLine(
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                kind=GoodsKind(line.kind),
            )
            for line in row.lines
        ),
        payment_method=row.payment_method,
    )


def _shipment_from_row(row: ShopShipment) -> Shipment:
    return Shipment(
        order_number=row.order_number,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        shipped_at=row.shipped_at,
        promised_date=row.promised_date,
        estimated_date=row.estimated_date,
        delivered_at=row.delivered_at,
        events=tuple(
            TrackingEvent(at=event.at, location=event.location, description=event.description)
            for event in row.events
        ),
    )


class SqlShopBackend:
    """Both `OrderBackend` and `LogisticsBackend`: in the demo shop they share one database."""

    def __init__(self, *, engine: Engine, statement_timeout_seconds: float = 3.0) -> None:
        self._engine = engine
        self._statement_timeout_ms = max(1, round(statement_timeout_seconds * 1000))

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self._engine) as session:
            if self._engine.dialect.name == "postgresql":
                # Local to the transaction the session has just begun, so it ends with it.
                timeout = str(self._statement_timeout_ms)
                session.execute(sa.select(sa.func.set_config("statement_timeout", timeout, True)))
            yield session

    async def _run(self, work: Callable[[], T]) -> T:
        """Database trouble of any kind is the backend's, never the customer's."""
        try:
            return await asyncio.to_thread(work)
        except (SQLAlchemyError, ValueError) as error:  # ValueError: a status we do not know
            raise BackendUnavailable(f"shop database: {type(error).__name__}") from error

    def _load_order(self, order_number: str) -> Order | None:
        with self._session() as session:
            row = session.get(ShopOrder, order_number, options=[selectinload(ShopOrder.lines)])
            return _order_from_row(row) if row else None

    def _load_shipment(self, order_number: str) -> Shipment | None:
        query = (
            sa.select(ShopShipment)
            .where(ShopShipment.order_number == order_number)
            .options(selectinload(ShopShipment.events))
        )
        with self._session() as session:
            row = session.scalars(query).first()
            return _shipment_from_row(row) if row else None

    async def get_order(self, order_number: str) -> Order | None:
        """Anything but six digits cannot be an order: answered without a query."""
        if not _ORDER_NUMBER.fullmatch(order_number):
            return None
        return await self._run(lambda: self._load_order(order_number))

    async def get_shipment(self, order_number: str) -> Shipment | None:
        if not _ORDER_NUMBER.fullmatch(order_number):
            return None
        return await self._run(lambda: self._load_shipment(order_number))

    def close(self) -> None:
        """Returns pooled connections; the engine stays usable and reconnects on demand."""
        self._engine.dispose()
