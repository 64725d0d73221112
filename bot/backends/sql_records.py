"""Rows of the demo shop's database turned into domain objects, and case ids.

Kept apart from the adapter so that other readers of the demo shop (the demo
listing) build exactly the same objects. An unknown status or kind in a row
raises ValueError, which the adapter reports as the backend's failure.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.domain.aftersales import (
    QualityClaim,
    Refund,
    RefundStatus,
    Resolution,
    ReturnKind,
    ReturnRequest,
)
from bot.domain.orders import (
    Customer,
    GoodsKind,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    TrackingEvent,
)
from bot.storage.shop_tables import (
    ShopOrder,
    ShopQualityClaim,
    ShopRefund,
    ShopReturn,
    ShopShipment,
)


def order_from_row(row: ShopOrder) -> Order:
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
        delivery_address=row.delivery_address,
        shipping_fee=row.shipping_fee,
    )


def shipment_from_row(row: ShopShipment) -> Shipment:
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


def return_from_row(row: ShopReturn) -> ReturnRequest:
    return ReturnRequest(
        id=row.id,
        order_number=row.order_number,
        kind=ReturnKind(row.kind),
        skus=tuple(row.skus),
        reason=row.reason,
        created_at=row.created_at,
        status=row.status,
    )


def refund_from_row(row: ShopRefund) -> Refund:
    return Refund(
        id=row.id,
        order_number=row.order_number,
        amount=row.amount,
        method=row.method,
        status=RefundStatus(row.status),
        created_at=row.created_at,
        expected_by=row.expected_by,
        reason=row.reason,
        return_id=row.return_id,
    )


def claim_from_row(row: ShopQualityClaim) -> QualityClaim:
    return QualityClaim(
        id=row.id,
        order_number=row.order_number,
        description=row.description,
        resolution=Resolution(row.resolution),
        skus=tuple(row.skus),
        created_at=row.created_at,
        status=row.status,
        notes=tuple(row.notes),
    )


CASE_PREFIXES: dict[type[ShopReturn | ShopRefund | ShopQualityClaim], str] = {
    ShopReturn: "R",
    ShopRefund: "RF",
    ShopQualityClaim: "QC",
}


def next_case_id(
    session: Session, model: type[ShopReturn | ShopRefund | ShopQualityClaim], at: datetime
) -> str:
    """ "R-2025-000124": the year it was opened, then one more than the highest serial so far.

    The serial never restarts, so it alone orders the cases; the year is for people.
    Two writers may pick the same id at once: the primary key turns the second away,
    and the adapter retries it.
    """
    prefix = CASE_PREFIXES[model]
    serial_starts = len(prefix) + len("-2025-") + 1  # SQL counts from 1
    serial = sa.cast(sa.func.substr(model.id, serial_starts), sa.Integer)
    last = session.scalar(sa.select(sa.func.max(serial)))
    return f"{prefix}-{at.year:04d}-{(last or 0) + 1:06d}"
