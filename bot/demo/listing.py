"""The seeded demo orders with the contact details that verify them.

This deliberately shows what the bot keeps secret: whoever tries the demo
needs an order number and the matching phone digits or e-mail to get past
verification. It reads only the demo shop's database, never a real shop's.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.demo.generate import LOOKED_AT
from bot.domain.clock import SHOP_TIMEZONE, shop_now
from bot.domain.incidents import Incident, IncidentKind
from bot.domain.orders import AWAITING_DELIVERY, ON_THE_WAY, GoodsKind, OrderStatus
from bot.storage.db import make_engine
from bot.storage.shop_tables import (
    ShopCustomer,
    ShopIncident,
    ShopOrder,
    ShopOrderLine,
    ShopShipment,
)


def _incident(row: ShopIncident) -> Incident:
    return Incident(
        id=row.id,
        kind=IncidentKind(row.kind),
        title=row.title,
        started_at=row.started_at,
        customer_note=row.customer_note,
        regions=tuple(row.regions),
        carriers=tuple(row.carriers),
        expected_recovery=row.expected_recovery,
        resolved_at=row.resolved_at,
        severity=row.severity,
    )


def _active_incidents(connection: sa.Connection, at: datetime) -> list[Incident]:
    """The demo shop's own record of what holds its parcels (the same incidents the seed
    declares in Shopdesk's registry), so the listing needs only the shop's database."""
    with Session(bind=connection) as session:
        rows = session.scalars(sa.select(ShopIncident).order_by(ShopIncident.id))
        incidents = [_incident(row) for row in rows]
    return [incident for incident in incidents if incident.is_active(at)]


def demo_orders(url: str, *, today: date | None = None) -> list[dict[str, object]]:
    """One JSON-ready dict per order, by order number; empty before `shopdesk demo seed`.

    With `today`, incidents count as active at the moment the seed looks at that day
    (`LOOKED_AT`), so the listing matches data seeded for it; without, at the shop's now.
    """
    at = datetime.combine(today, LOOKED_AT, tzinfo=SHOP_TIMEZONE) if today else shop_now()
    today = at.date()
    engine = make_engine(url)
    try:
        if not sa.inspect(engine).has_table(ShopOrder.__tablename__):
            return []
        with engine.connect() as connection:
            lines: defaultdict[str, list[dict[str, object]]] = defaultdict(list)
            query_lines = sa.select(ShopOrderLine).order_by(
                ShopOrderLine.order_number, ShopOrderLine.line_no
            )
            for line in connection.execute(query_lines).mappings():
                lines[line["order_number"]].append(
                    {
                        "sku": line["sku"],
                        "name": line["name"],
                        "kind": line["kind"],
                        "quantity": line["quantity"],
                        "unit_price": str(line["unit_price"]),
                    }
                )
            incidents = _active_incidents(connection, at)
            query = (
                sa.select(
                    ShopOrder.number,
                    ShopOrder.status,
                    ShopOrder.payment_method,
                    ShopOrder.delivery_address,
                    ShopOrder.shipping_fee,
                    ShopCustomer.name,
                    ShopCustomer.phone,
                    ShopCustomer.email,
                    ShopCustomer.region,
                    ShopShipment.carrier,
                    ShopShipment.tracking_number,
                    ShopShipment.promised_date,
                    ShopShipment.estimated_date,
                    ShopShipment.delivered_at,
                )
                .join(ShopCustomer, ShopOrder.customer_id == ShopCustomer.id)
                .outerjoin(ShopShipment, ShopShipment.order_number == ShopOrder.number)
                .order_by(ShopOrder.number)
            )
            rows = connection.execute(query).all()
    finally:
        engine.dispose()
    orders: list[dict[str, object]] = []
    for row in rows:
        kinds = {line["kind"] for line in lines[row.number]}
        awaiting = OrderStatus(row.status) in AWAITING_DELIVERY
        orders.append(
            {
                "order_number": row.number,
                "status": row.status,
                "customer_name": row.name,
                "phone": row.phone,
                "phone_last4": re.sub(r"\D", "", row.phone)[-4:],
                "email": row.email,
                "region": row.region,
                "payment_method": row.payment_method,
                "goods": [kind.value for kind in GoodsKind if kind.value in kinds],
                "carrier": row.carrier,
                "tracking_number": row.tracking_number,
                "promised_date": row.promised_date.isoformat() if row.promised_date else None,
                "estimated_date": row.estimated_date.isoformat() if row.estimated_date else None,
                "is_late": bool(
                    row.promised_date
                    and OrderStatus(row.status) in ON_THE_WAY
                    and row.promised_date < today
                ),
                "delivery_address": row.delivery_address,
                "shipping_fee": str(row.shipping_fee),
                "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
                "lines": lines[row.number],
                "incident_ids": [
                    incident.id
                    for incident in incidents
                    if awaiting and incident.affects(region=row.region, carrier=row.carrier)
                ],
            }
        )
    return orders
