"""Order and logistics backend over a shop's SQL database (the demo shop's schema).

SQLAlchemy is synchronous, so each call runs in a worker thread; the caller's
timeout then frees the customer while the thread finishes. On PostgreSQL a
statement timeout also stops the query itself, so threads and connections do
not pile up behind a database that has become slow. Changes are checked here
and made by `bot.backends.sql_changes`, each in one transaction.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from bot.backends import sql_changes as changes
from bot.backends import sql_records as records
from bot.backends.protocols import BackendUnavailable
from bot.domain.aftersales import (
    QualityClaim,
    Refund,
    RefundStatus,
    Resolution,
    ReturnKind,
    ReturnRequest,
)
from bot.domain.clock import SHOP_TIMEZONE, shop_now
from bot.domain.orders import AWAITING_DELIVERY, Order, OrderInScope, OrderStatus, Shipment
from bot.storage.shop_tables import (
    ShopCustomer,
    ShopOrder,
    ShopQualityClaim,
    ShopRefund,
    ShopReturn,
    ShopShipment,
)

T = TypeVar("T")
Case = TypeVar("Case", ShopReturn, ShopRefund, ShopQualityClaim)

_ORDER_NUMBER = re.compile(r"[0-9]{6}")  # not \d: that also matches non-ASCII digits
_ID_ATTEMPTS = 3


def _start_of(day: date) -> datetime:
    """Midnight in the shop's time zone: order dates are the shop's calendar days."""
    return datetime.combine(day, time(0), tzinfo=SHOP_TIMEZONE)


class SqlShopBackend:
    """Both `OrderBackend` and `LogisticsBackend`: in the demo shop they share one database."""

    def __init__(
        self,
        *,
        engine: Engine,
        statement_timeout_seconds: float = 3.0,
        clock: Callable[[], datetime] = shop_now,
    ) -> None:
        self._engine = engine
        self._statement_timeout_ms = max(1, round(statement_timeout_seconds * 1000))
        self._clock = clock  # when new cases are opened, and so the year in their ids

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

    async def _read(self, work: Callable[[Session], T]) -> T:
        def in_session() -> T:
            with self._session() as session:
                return work(session)

        return await self._run(in_session)

    async def _write(self, work: Callable[[Session], T]) -> T:
        """One transaction; retried when a concurrent writer took the case id it picked."""

        def in_transaction() -> T:
            attempt = 1
            while True:
                try:
                    with self._session() as session:
                        result = work(session)
                        session.commit()
                        return result
                except IntegrityError:
                    if attempt == _ID_ATTEMPTS:
                        raise
                    attempt += 1

        return await self._run(in_transaction)

    # Reads

    async def get_order(self, order_number: str) -> Order | None:
        """Anything but six digits cannot be an order: answered without a query."""
        if not _ORDER_NUMBER.fullmatch(order_number):
            return None

        def load(session: Session) -> Order | None:
            options = [selectinload(ShopOrder.lines)]
            row = session.get(ShopOrder, order_number, options=options)
            return records.order_from_row(row) if row else None

        return await self._read(load)

    async def get_shipment(self, order_number: str) -> Shipment | None:
        if not _ORDER_NUMBER.fullmatch(order_number):
            return None
        query = (
            sa.select(ShopShipment)
            .where(ShopShipment.order_number == order_number)
            .options(selectinload(ShopShipment.events))
        )

        def load(session: Session) -> Shipment | None:
            row = session.scalars(query).first()
            return records.shipment_from_row(row) if row else None

        return await self._read(load)

    async def _cases(
        self, model: type[Case], order_number: str, convert: Callable[[Case], T]
    ) -> list[T]:
        """Oldest first; an order number that cannot exist has none, without a query."""
        if not _ORDER_NUMBER.fullmatch(order_number):
            return []
        query = (
            sa.select(model)
            .where(model.order_number == order_number)
            .order_by(model.created_at, model.id)
        )
        return await self._read(lambda session: [convert(row) for row in session.scalars(query)])

    async def list_returns(self, order_number: str) -> list[ReturnRequest]:
        return await self._cases(ShopReturn, order_number, records.return_from_row)

    async def list_refunds(self, order_number: str) -> list[Refund]:
        return await self._cases(ShopRefund, order_number, records.refund_from_row)

    async def list_quality_claims(self, order_number: str) -> list[QualityClaim]:
        return await self._cases(ShopQualityClaim, order_number, records.claim_from_row)

    async def delivery_network(self) -> tuple[list[str], list[str]]:
        def read(session: Session) -> tuple[list[str], list[str]]:
            regions = session.scalars(sa.select(ShopCustomer.region).distinct())
            carriers = session.scalars(sa.select(ShopShipment.carrier).distinct())
            return sorted(regions), sorted(carriers)

        return await self._read(read)

    async def open_orders_in_scope(
        self,
        *,
        regions: Sequence[str],
        carriers: Sequence[str],
        placed_from: date | None = None,
        placed_to: date | None = None,
    ) -> list[OrderInScope]:
        """One query, whatever the number of orders: an incident can cover thousands. The
        scope is bot/domain/incidents.py's `covers`: regions and carriers both, when both."""
        in_regions = ShopCustomer.region.in_(list(regions))
        with_carriers = ShopShipment.carrier.in_(list(carriers))
        if regions and carriers:
            in_scope = sa.and_(in_regions, with_carriers)
        else:
            in_scope = sa.or_(in_regions, with_carriers)
        query = (
            sa.select(ShopOrder.number, ShopOrder.customer_id, ShopOrder.status)
            .join(ShopCustomer, ShopCustomer.id == ShopOrder.customer_id)
            .outerjoin(ShopShipment, ShopShipment.order_number == ShopOrder.number)
            .where(ShopOrder.status.in_([s.value for s in AWAITING_DELIVERY]), in_scope)
            .order_by(ShopOrder.number)
        )
        if placed_from is not None:
            query = query.where(ShopOrder.placed_at >= _start_of(placed_from))
        if placed_to is not None:
            query = query.where(ShopOrder.placed_at < _start_of(placed_to + timedelta(days=1)))
        return await self._read(
            lambda session: [
                OrderInScope(number, customer_id, OrderStatus(status))
                for number, customer_id, status in session.execute(query)
            ]
        )

    # Changes: checked here, made in `sql_changes` inside one transaction

    async def cancel_order(self, order_number: str) -> Order:
        return await self._write(partial(changes.cancel, order_number=order_number))

    async def change_address(self, order_number: str, address: str) -> Order:
        new_address = changes.checked_text(address, "the address", 200)
        return await self._write(
            partial(changes.change_address, order_number=order_number, address=new_address)
        )

    async def create_return(
        self, order_number: str, *, kind: ReturnKind, skus: tuple[str, ...], reason: str
    ) -> ReturnRequest:
        """Moves the order to `return_requested`; an item can have one open return."""
        change = partial(
            changes.open_return,
            order_number=order_number,
            kind=ReturnKind(kind),
            skus=changes.checked_skus(skus),
            reason=changes.checked_text(reason, "the reason", 500),
        )
        return await self._write(lambda session: change(session, at=self._clock()))

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
        """A paid refund that settles the goods marks the order refunded (not a cancelled one)."""
        change = partial(
            changes.open_refund,
            order_number=order_number,
            amount=changes.checked_amount(amount, method),
            method=method,
            status=RefundStatus(status),
            expected_by=expected_by,
            reason=changes.checked_text(reason, "the reason", 500),
            return_id=return_id,
        )
        return await self._write(lambda session: change(session, at=self._clock()))

    async def create_quality_claim(
        self,
        order_number: str,
        *,
        description: str,
        resolution: Resolution,
        skus: tuple[str, ...],
    ) -> QualityClaim:
        """An item can have one claim in progress ("open" or "approved")."""
        change = partial(
            changes.open_claim,
            order_number=order_number,
            description=changes.checked_text(description, "the description", 1000),
            resolution=Resolution(resolution),
            skus=changes.checked_skus(skus),
        )
        return await self._write(lambda session: change(session, at=self._clock()))

    def close(self) -> None:
        """Returns pooled connections; the engine stays usable and reconnects on demand."""
        self._engine.dispose()
