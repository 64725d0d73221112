"""The changes the SQL adapter makes, each inside the transaction it is given.

Every change first locks the order's row (PostgreSQL; SQLite has no row locks),
then checks that the order's state allows it. Status changes are also
conditional on the status that was checked, so on SQLite too whichever writer
comes second gets `OrderConflict`, never a silent overwrite. Arguments have
been checked by the adapter (`checked_*`) before the transaction began: a
caller's mistake is a ValueError, not a conflict and not the backend's fault.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from bot.backends import sql_records as records
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
from bot.domain.orders import Order, OrderStatus
from bot.storage.shop_tables import (
    REFUND_METHODS,
    ShopOrder,
    ShopQualityClaim,
    ShopRefund,
    ShopReturn,
)

S = OrderStatus
NOT_SHIPPED = frozenset({S.PENDING_PAYMENT, S.PAID, S.PACKED})  # cancel, change the address
DELIVERED = frozenset({S.DELIVERED, S.RETURN_REQUESTED})  # return, claim
OPEN_RETURNS = ("requested", "approved", "received")
OPEN_CLAIMS = tuple(sorted(OPEN_CLAIM_STATUSES))
MAX_AMOUNT = Decimal("100000000")  # Numeric(10, 2)


def checked_text(value: str, what: str, limit: int) -> str:
    text = value.strip()
    if not text or "\x00" in text or len(text) > limit:
        raise ValueError(f"{what} must be 1 to {limit} characters of text")
    return text


def checked_skus(skus: tuple[str, ...]) -> list[str]:
    if not skus or len(set(skus)) != len(skus):
        raise ValueError("give each SKU once, and at least one")
    return [checked_text(sku, "a SKU", 32) for sku in skus]


def checked_amount(amount: Decimal, method: str) -> Decimal:
    if not isinstance(amount, Decimal) or not Decimal("0") < amount < MAX_AMOUNT:
        raise ValueError(f"the amount must be a Decimal above 0 and below {MAX_AMOUNT}")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("the amount has more than two decimal places")
    if method not in REFUND_METHODS:
        raise ValueError(f"refunds go to one of {', '.join(REFUND_METHODS)}")
    return amount


def _lock_order(session: Session, order_number: str) -> ShopOrder:
    """Held until the transaction ends; other writers to this order wait their turn."""
    query = (
        sa.select(ShopOrder)
        .where(ShopOrder.number == order_number)
        .options(selectinload(ShopOrder.lines))
        .with_for_update(of=ShopOrder)
    )
    row = session.scalars(query).first()
    if row is None:
        raise OrderConflict(f"there is no order {order_number}")
    return row


def _require(row: ShopOrder, allowed: Collection[OrderStatus], change: str) -> None:
    if OrderStatus(row.status) not in allowed:
        raise OrderConflict(f"order {row.number} is {row.status}: it cannot be {change}")


def _require_skus(row: ShopOrder, skus: list[str]) -> None:
    missing = sorted(set(skus) - {line.sku for line in row.lines})
    if missing:
        raise OrderConflict(f"order {row.number} has no {', '.join(missing)}")


def _update_if(
    session: Session, row: ShopOrder, allowed: Collection[OrderStatus], **values: object
) -> None:
    """Compare and set: changes the order only if its status is still one of `allowed`."""
    result = session.connection().execute(
        sa.update(ShopOrder)
        .where(ShopOrder.number == row.number, ShopOrder.status.in_([s.value for s in allowed]))
        .values(**values)
    )
    if result.rowcount != 1:
        raise OrderConflict(f"order {row.number} changed meanwhile; nothing was changed")
    session.expire(row, list(values))


def _goods_total(row: ShopOrder) -> Decimal:
    return sum((line.unit_price * line.quantity for line in row.lines), Decimal("0"))


def cancel(session: Session, order_number: str) -> Order:
    row = _lock_order(session, order_number)
    _require(row, NOT_SHIPPED, "cancelled")
    _update_if(session, row, NOT_SHIPPED, status=S.CANCELLED.value)
    return records.order_from_row(row)


def change_address(session: Session, order_number: str, address: str) -> Order:
    row = _lock_order(session, order_number)
    _require(row, NOT_SHIPPED, "sent elsewhere")
    _update_if(session, row, NOT_SHIPPED, delivery_address=address)
    return records.order_from_row(row)


def open_return(
    session: Session,
    order_number: str,
    *,
    kind: ReturnKind,
    skus: list[str],
    reason: str,
    at: datetime,
) -> ReturnRequest:
    """One open return per item: asking twice for the same item is a conflict."""
    row = _lock_order(session, order_number)
    _require(row, DELIVERED, "returned")
    _require_skus(row, skus)
    open_returns = session.scalars(
        sa.select(ShopReturn).where(
            ShopReturn.order_number == order_number, ShopReturn.status.in_(OPEN_RETURNS)
        )
    )
    taken = sorted(set(skus) & {sku for case in open_returns for sku in case.skus})
    if taken:
        raise OrderConflict(f"a return is already open for {', '.join(taken)}")
    new = ShopReturn(
        id=records.next_case_id(session, ShopReturn, at),
        order_number=order_number,
        kind=kind.value,
        skus=skus,
        reason=reason,
        status="requested",
        created_at=at,
    )
    session.add(new)
    _update_if(session, row, DELIVERED, status=S.RETURN_REQUESTED.value)
    session.flush()
    return records.return_from_row(new)


def open_refund(
    session: Session,
    order_number: str,
    *,
    amount: Decimal,
    method: str,
    status: RefundStatus,
    expected_by: date,
    reason: str,
    return_id: str | None,
    at: datetime,
) -> Refund:
    """Never more than was paid, goods and shipping together.

    A paid refund that brings the order's paid refunds up to its goods marks it
    `refunded`; a cancelled order stays cancelled, and other refunds leave the status.
    """
    row = _lock_order(session, order_number)
    delivered = OrderStatus(row.status) in DELIVERED | {S.REFUNDED}
    if row.status == S.PENDING_PAYMENT or (
        row.payment_method == "cash_on_delivery" and not delivered
    ):
        raise OrderConflict(f"order {order_number} has not been paid for")
    if return_id is not None:
        paid_for = session.get(ShopReturn, return_id)
        if paid_for is None or paid_for.order_number != order_number:
            raise OrderConflict(f"order {order_number} has no return {return_id}")
    earlier = list(
        session.scalars(sa.select(ShopRefund).where(ShopRefund.order_number == order_number))
    )
    if sum((refund.amount for refund in earlier), amount) > _goods_total(row) + row.shipping_fee:
        raise OrderConflict(f"refunds for order {order_number} would exceed what was paid")
    new = ShopRefund(
        id=records.next_case_id(session, ShopRefund, at),
        order_number=order_number,
        return_id=return_id,
        amount=amount,
        method=method,
        status=status.value,
        created_at=at,
        expected_by=expected_by,
        reason=reason,
    )
    session.add(new)
    paid = sum((r.amount for r in earlier if r.status == RefundStatus.PAID), amount)
    settles = status is RefundStatus.PAID and paid >= _goods_total(row)
    if settles and row.status not in (S.CANCELLED, S.REFUNDED):
        _update_if(session, row, {S(row.status)}, status=S.REFUNDED.value)
    session.flush()
    return records.refund_from_row(new)


def open_claim(
    session: Session,
    order_number: str,
    *,
    description: str,
    resolution: Resolution,
    skus: list[str],
    at: datetime,
) -> QualityClaim:
    """One claim in progress per item: reporting the same item twice is a conflict."""
    row = _lock_order(session, order_number)
    _require(row, DELIVERED, "claimed for")
    _require_skus(row, skus)
    open_claims = session.scalars(
        sa.select(ShopQualityClaim).where(
            ShopQualityClaim.order_number == order_number, ShopQualityClaim.status.in_(OPEN_CLAIMS)
        )
    )
    taken = {sku: claim.id for claim in open_claims for sku in claim.skus if sku in skus}
    if taken:
        ids = ", ".join(sorted(set(taken.values())))
        raise OrderConflict(f"quality claim {ids} is already open for {', '.join(sorted(taken))}")
    new = ShopQualityClaim(
        id=records.next_case_id(session, ShopQualityClaim, at),
        order_number=order_number,
        description=description,
        resolution=resolution.value,
        skus=skus,
        status="open",
        created_at=at,
        notes=[],
    )
    session.add(new)
    session.flush()
    return records.claim_from_row(new)
