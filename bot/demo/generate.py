"""Generates the demo shop's rows: pure and deterministic, no database involved.

Everything is drawn from one seeded `random.Random` and placed relative to
`today`, so the same `today` always gives the same rows, and the data looks
current whenever the demo is seeded. Times are Beijing time and never later
than 18:00 on `today`, the moment the demo shop is "looked at".
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from bot.demo import catalogue as cat
from bot.demo import incidents as demo_incidents
from bot.demo.aftersales import add_aftersales
from bot.demo.delivery import address_book, pick_address, shipping_fee
from bot.demo.journeys import Destination, Trip, make_trip
from bot.demo.rows import DemoShop, OrderRow
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.orders import ON_THE_WAY, GoodsKind, OrderStatus

__all__ = ["LOOKED_AT", "SEED", "STATUS_COUNTS", "DemoShop", "OrderRow", "generate_demo_shop"]

SEED = 20_240_611
# Addresses, after-sales cases and incident holds draw from their own generators, so that
# adding them left every customer, basket and journey drawn from SEED exactly as it was.
ADDRESS_SEED, AFTERSALES_SEED = SEED + 1, SEED + 2
CUSTOMER_COUNT = 240
FIRST_ORDER_NUMBER = 100_001
LOOKED_AT = time(18, 0)

S = OrderStatus
# Most orders are done or on the way; after-sales cases are the minority.
STATUS_COUNTS = {
    S.PENDING_PAYMENT: 40, S.PAID: 50, S.PACKED: 50, S.SHIPPED: 70, S.IN_TRANSIT: 140,
    S.OUT_FOR_DELIVERY: 50, S.DELIVERED: 420, S.CANCELLED: 60, S.RETURN_REQUESTED: 50,
    S.REFUNDED: 70,
}  # fmt: skip
REFUNDED_BEFORE_SHIPPING = 0.3
AFTER_DELIVERY = (S.DELIVERED, S.RETURN_REQUESTED, S.REFUNDED)


@dataclass(frozen=True)
class _Customer:
    id: int
    address: Destination


@dataclass(frozen=True)
class _Order:
    customer: _Customer
    status: OrderStatus
    placed_at: datetime
    payment_method: str
    basket: list[tuple[cat.Product, int]]
    trip: Trip | None


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum())


def _customers(rng: random.Random, shop: DemoShop) -> list[_Customer]:
    names: set[str] = set()
    phones: set[str] = set()
    emails: set[str] = set()
    customers: list[_Customer] = []
    weights = [region.weight for region in cat.REGIONS]
    while len(customers) < CUSTOMER_COUNT:
        if rng.random() < cat.INTERNATIONAL_SHARE:
            given, family = (
                rng.choice(cat.INTERNATIONAL_GIVEN_NAMES),
                rng.choice(cat.INTERNATIONAL_FAMILY_NAMES),
            )
            name = f"{given} {family}"
        else:  # family name first, as Chinese names are written in English too
            given, family = (
                rng.choice(cat.CHINESE_GIVEN_NAMES),
                rng.choice(cat.CHINESE_FAMILY_NAMES),
            )
            name = f"{family} {given}"
        phone = f"+86 {rng.choice(cat.MOBILE_PREFIXES)} {rng.randrange(10_000):04d} "
        phone += f"{rng.randrange(10_000):04d}"
        local = rng.choice(
            (
                f"{_ascii(given)}.{_ascii(family)}",
                f"{_ascii(family)}{_ascii(given)}{rng.randrange(10, 100)}",
                f"{_ascii(given)[0]}{_ascii(family)}{rng.randrange(1970, 2006)}",
                f"{_ascii(given)}_{_ascii(family)}{rng.randrange(1, 10)}",
            )
        )
        email = f"{local}@{rng.choice(cat.EMAIL_DOMAINS)}"
        if name in names or phone in phones or email in emails:
            continue
        names.add(name)
        phones.add(phone)
        emails.add(email)
        region = rng.choices(cat.REGIONS, weights)[0]
        customer = _Customer(len(customers) + 1, Destination(region, rng.choice(region.districts)))
        customers.append(customer)
        shop.customers.append(
            {"id": customer.id, "name": name, "phone": phone, "email": email,
             "region": region.label}
        )  # fmt: skip
    return customers


def _basket(rng: random.Random) -> list[tuple[cat.Product, int]]:
    mix = rng.choices(list(cat.BASKET_WEIGHTS), list(cat.BASKET_WEIGHTS.values()))[0]
    count = rng.choices(list(cat.LINE_COUNT_WEIGHTS), list(cat.LINE_COUNT_WEIGHTS.values()))[0]
    if mix == "regular":
        products = rng.sample(cat.REGULAR_PRODUCTS, count)
    elif mix == "fresh":
        products = rng.sample(cat.FRESH_PRODUCTS, count)
    else:
        count = max(count, 2)
        regular = rng.randint(1, count - 1)
        products = rng.sample(cat.REGULAR_PRODUCTS, regular)
        products += rng.sample(cat.FRESH_PRODUCTS, count - regular)
    return [(product, rng.randint(1, product.max_quantity)) for product in products]


def _payment_method(rng: random.Random, status: OrderStatus, shipped: bool) -> str:
    """Nobody waits to pay cash on delivery, and it cannot be refunded before delivery."""
    if status == S.PENDING_PAYMENT:
        return rng.choices(("wallet", "card", "bank_transfer"), (45, 15, 40))[0]
    cod_weight = 0 if status == S.REFUNDED and not shipped else 6
    methods = ("wallet", "card", "bank_transfer", "cash_on_delivery")
    return rng.choices(methods, (68, 20, 6, cod_weight))[0]


def _placed_before_shipping(rng: random.Random, status: OrderStatus, now: datetime) -> datetime:
    """Unpaid orders are recent (the payment window is two days); closed ones can be old."""
    minutes = {
        S.PENDING_PAYMENT: (10, 47 * 60),
        S.PAID: (20, 26 * 60),
        S.PACKED: (3 * 60, 40 * 60),
        S.CANCELLED: (3 * 60, 38 * 24 * 60),
    }.get(status, (2 * 24 * 60, 38 * 24 * 60))
    return now - timedelta(minutes=rng.randrange(*minutes))


def _plan_orders(rng: random.Random, customers: list[_Customer], now: datetime) -> list[_Order]:
    statuses = [status for status, count in STATUS_COUNTS.items() for _ in range(count)]
    rng.shuffle(statuses)
    used_tracking_numbers: set[str] = set()
    orders = []
    for status in statuses:
        customer = rng.choice(customers)
        basket = _basket(rng)
        fresh = any(product.kind != GoodsKind.REGULAR for product, _ in basket)
        ships = status in ON_THE_WAY or status in AFTER_DELIVERY
        if status == S.REFUNDED and rng.random() < REFUNDED_BEFORE_SHIPPING:
            ships = False
        trip: Trip | None = None
        if ships:
            trip = make_trip(rng, status, customer.address, fresh, now, used_tracking_numbers)
            # Fresh goods are picked to order and leave within hours; the rest within a day or so.
            lead = rng.randrange(120, 720) if fresh else rng.randrange(240, 2160)
            placed_at = trip.shipped_at - timedelta(minutes=lead)
        else:
            placed_at = _placed_before_shipping(rng, status, now)
        payment = _payment_method(rng, status, ships)
        orders.append(_Order(customer, status, placed_at, payment, basket, trip))
    return orders


def _held(rng: random.Random, order: _Order, trip: Trip, shop: DemoShop, now: datetime) -> Trip:
    """A late parcel covered by an active incident is held by it (see `bot.demo.incidents`)."""
    if order.status not in (S.SHIPPED, S.IN_TRANSIT) or trip.promised >= now.date():
        return trip
    incident = demo_incidents.holding_incident(
        shop.incidents, region=order.customer.address.region.label, carrier=trip.carrier.name,
        now=now,
    )  # fmt: skip
    if incident is None:
        return trip
    return replace(
        trip,
        events=demo_incidents.held_events(rng, trip.events, incident, now),
        estimated=demo_incidents.held_estimate(trip.estimated, incident),
    )


def generate_demo_shop(today: date) -> DemoShop:
    """Order numbers follow the time orders were placed, as a shop's sequence would."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not a secret
    side = random.Random(ADDRESS_SEED)  # noqa: S311
    now = datetime.combine(today, LOOKED_AT, tzinfo=SHOP_TIMEZONE)
    shop = DemoShop(incidents=demo_incidents.demo_incidents(now))
    customers = _customers(rng, shop)
    planned = _plan_orders(rng, customers, now)
    addresses = address_book(side, [customer.address for customer in customers])
    by_time = sorted(enumerate(planned), key=lambda item: (item[1].placed_at, item[0]))
    for offset, (_, order) in enumerate(by_time):
        number = str(FIRST_ORDER_NUMBER + offset)
        goods = sum((p.unit_price * quantity for p, quantity in order.basket), Decimal("0"))
        cold_chain = any(product.kind != GoodsKind.REGULAR for product, _ in order.basket)
        shop.orders.append(
            {"number": number, "customer_id": order.customer.id, "status": order.status.value,
             "placed_at": order.placed_at, "payment_method": order.payment_method,
             "delivery_address": pick_address(side, addresses[order.customer.id - 1]),
             "shipping_fee": shipping_fee(goods, cold_chain=cold_chain)}
        )  # fmt: skip
        for line_no, (product, quantity) in enumerate(order.basket, start=1):
            shop.lines.append(
                {"id": len(shop.lines) + 1, "order_number": number, "line_no": line_no,
                 "sku": product.sku, "name": product.name, "quantity": quantity,
                 "unit_price": product.unit_price, "kind": product.kind.value}
            )  # fmt: skip
        if order.trip is None:
            continue
        trip, shipment_id = _held(side, order, order.trip, shop, now), len(shop.shipments) + 1
        shop.shipments.append(
            {"id": shipment_id, "order_number": number, "carrier": trip.carrier.name,
             "tracking_number": trip.tracking_number, "shipped_at": trip.shipped_at,
             "promised_date": trip.promised, "estimated_date": trip.estimated,
             "delivered_at": trip.delivered_at}
        )  # fmt: skip
        for at, location, description in trip.events:
            shop.events.append(
                {"id": len(shop.events) + 1, "shipment_id": shipment_id, "at": at,
                 "location": location, "description": description}
            )  # fmt: skip
    add_aftersales(random.Random(AFTERSALES_SEED), shop, now)  # noqa: S311
    return shop
