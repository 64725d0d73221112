"""The seeded demo orders with the contact details that verify them.

This deliberately shows what the bot keeps secret: whoever tries the demo
needs an order number and the matching phone digits or e-mail to get past
verification. It reads only the demo shop's database, never a real shop's.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

import sqlalchemy as sa

from bot.domain.clock import shop_today
from bot.domain.orders import ON_THE_WAY, GoodsKind, OrderStatus
from bot.storage.db import make_engine
from bot.storage.shop_tables import (
    ShopCustomer,
    ShopOrder,
    ShopOrderLine,
    ShopShipment,
)


def demo_orders(url: str, *, today: date | None = None) -> list[dict[str, object]]:
    """One JSON-ready dict per order, by order number; empty before `shopdesk demo seed`."""
    today = today or shop_today()
    engine = make_engine(url)
    try:
        if not sa.inspect(engine).has_table(ShopOrder.__tablename__):
            return []
        with engine.connect() as connection:
            kinds: defaultdict[str, set[str]] = defaultdict(set)
            lines = sa.select(ShopOrderLine.order_number, ShopOrderLine.kind).distinct()
            for number, kind in connection.execute(lines):
                kinds[number].add(kind)
            query = (
                sa.select(
                    ShopOrder.number,
                    ShopOrder.status,
                    ShopOrder.payment_method,
                    ShopCustomer.name,
                    ShopCustomer.phone,
                    ShopCustomer.email,
                    ShopCustomer.region,
                    ShopShipment.carrier,
                    ShopShipment.tracking_number,
                    ShopShipment.promised_date,
                    ShopShipment.estimated_date,
                )
                .join(ShopCustomer, ShopOrder.customer_id == ShopCustomer.id)
                .outerjoin(ShopShipment, ShopShipment.order_number == ShopOrder.number)
                .order_by(ShopOrder.number)
            )
            rows = connection.execute(query).all()
    finally:
        engine.dispose()
    return [
        {
            "order_number": row.number,
            "status": row.status,
            "customer_name": row.name,
            "phone": row.phone,
            "phone_last4": re.sub(r"\D", "", row.phone)[-4:],
            "email": row.email,
            "region": row.region,
            "payment_method": row.payment_method,
            "goods": [kind.value for kind in GoodsKind if kind.value in kinds[row.number]],
            "carrier": row.carrier,
            "tracking_number": row.tracking_number,
            "promised_date": row.promised_date.isoformat() if row.promised_date else None,
            "estimated_date": row.estimated_date.isoformat() if row.estimated_date else None,
            "is_late": bool(
                row.promised_date
                and OrderStatus(row.status) in ON_THE_WAY
                and row.promised_date < today
            ),
        }
        for row in rows
    ]
