"""A demo parcel's journey: carrier, tracking number, promise, and its tracking events.

The events have to tell one consistent story with the order's status (a parcel
out for delivery has passed every hub, one in transit has not been delivered),
run forward in time, and stop before the moment the shop is looked at.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.demo import catalogue as cat
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.orders import ON_THE_WAY, OrderStatus

S = OrderStatus
LATE_SHARE = 0.25  # of the parcels on the way: past their promised date
NEW_ESTIMATE_SHARE = 0.55  # of those late: the carrier has given a new date
DELAY_WEIGHT = 3.0  # a hold at a hub takes about as long as a long haul

Event = tuple[datetime, str, str]  # at, location, description


@dataclass(frozen=True)
class Destination:
    region: cat.Region
    district: str


@dataclass(frozen=True)
class Trip:
    carrier: cat.Carrier
    tracking_number: str
    promised: date
    estimated: date | None
    delivered_at: datetime | None
    events: list[Event]

    @property
    def shipped_at(self) -> datetime:
        return self.events[0][0]


@dataclass(frozen=True)
class _Route:
    pickup: str  # the shop's warehouse
    # Sorting centres, then the delivery station, each with its share of the travel time.
    transit: list[tuple[str, str, float]]
    station: str
    address: str


@dataclass(frozen=True)
class _Timing:
    shipped_at: datetime
    before: datetime  # every transit event happens before this
    steps: tuple[int, int]  # fewest and most transit steps the parcel can have made
    last_mile: list[Event]  # out for delivery, delivered
    late: bool
    # On time: the parcel moves at this pace (minutes for the whole route) and has made the
    # steps that pace allows by now. None: its events are spread over the time it took.
    pace_minutes: float | None = None
    estimated: date | None = None
    delivered_at: datetime | None = None


def _at(rng: random.Random, day: date, first_hour: int, last_hour: int) -> datetime:
    """A whole minute on `day` between the two hours, Beijing time."""
    start = datetime.combine(day, time(first_hour), tzinfo=SHOP_TIMEZONE)
    return start + timedelta(minutes=rng.randrange((last_hour - first_hour) * 60))


def _offsets(rng: random.Random, weights: list[float], total: float) -> list[float]:
    """Minutes from pickup to each step, the steps taking `total` minutes between them."""
    gaps = [weight * rng.uniform(0.7, 1.3) for weight in weights]
    scale, elapsed, offsets = total / sum(gaps), 0.0, []
    for gap in gaps:
        elapsed += gap * scale
        offsets.append(elapsed)
    return offsets


def _schedule(rng: random.Random, timing: _Timing, weights: list[float]) -> list[datetime]:
    """Distinct whole minutes after pickup and before `timing.before`, in order."""
    room = (timing.before - timing.shipped_at).total_seconds() / 60 * 0.95
    if room <= len(weights) + 1:
        raise ValueError(f"no room for {len(weights)} events after {timing.shipped_at}")
    if timing.pace_minutes is None:
        offsets = _offsets(rng, weights, room * rng.uniform(0.75, 1.0))
    else:
        offsets = _offsets(rng, weights, timing.pace_minutes)
        low, high = timing.steps
        offsets = offsets[: max(low, min(high, sum(1 for o in offsets if o < room)))]
        if offsets and offsets[-1] >= room:  # running behind its pace: squeezed in
            offsets = [offset * room / offsets[-1] for offset in offsets]
    times, previous = [], 0
    for offset in offsets:
        previous = max(previous + 1, int(offset))
        times.append(timing.shipped_at + timedelta(minutes=previous))
    return times


def _tracking_number(rng: random.Random, carrier: cat.Carrier, used: set[str]) -> str:
    digits = carrier.tracking_digits
    while True:
        number = f"{carrier.tracking_prefix}{rng.randrange(10**digits):0{digits}d}"
        if number not in used:
            used.add(number)
            return number


def _route(destination: Destination) -> _Route:
    """Long hauls between cities take most of the time; moves within a hub, little."""
    region, district = destination.region, destination.district
    warehouse = next(w for w in cat.WAREHOUSES if w.name == region.warehouse)
    origin = next(r for r in cat.REGIONS if r.label == warehouse.region)
    station = f"{region.city} {district} delivery station"
    bound_for = station if region.hub == origin.hub else region.city
    transit = [
        (origin.hub, "Arrived at sorting centre", 1.0),
        (origin.hub, f"Departed sorting centre, bound for {bound_for}", 1.0),
    ]
    if region.hub != origin.hub:
        transit.append((region.hub, "Arrived at destination sorting centre", 4.0))
    transit.append((station, "Arrived at delivery station", 2.0))
    return _Route(warehouse.name, transit, station, f"{region.city} {district}")


def _on_the_way(
    rng: random.Random, status: OrderStatus, promise_days: int, route: _Route, now: datetime
) -> _Timing:
    """Late parcels left more days ago than they were promised for; the rest are on time."""
    today = now.date()
    late = rng.random() < LATE_SHARE
    if late:
        days_ago = promise_days + rng.randint(1, 4)
    else:
        days_ago = 0 if status == S.SHIPPED else rng.randint(1, promise_days)
    shipped_at = _at(rng, today - timedelta(days=days_ago), 9, 16 if days_ago == 0 else 21)
    before = now - timedelta(minutes=rng.randrange(15, 90))
    last_mile: list[Event] = []
    if status == S.OUT_FOR_DELIVERY:
        before = _at(rng, today, 8, 16)
        last_mile = [(before, route.station, "Out for delivery")]
    every = len(route.transit)
    steps = {S.SHIPPED: (0, 1), S.IN_TRANSIT: (1, every)}.get(status, (every, every))
    estimated = None
    if late:
        # Held at a sorting centre: it has reached at least one.
        low = max(steps[0], 1)
        steps = (chosen := rng.randint(low, steps[1]), chosen)
        if rng.random() < NEW_ESTIMATE_SHARE:
            wait = 0 if status == S.OUT_FOR_DELIVERY else rng.randint(1, 3)
            estimated = today + timedelta(days=wait)
        return _Timing(shipped_at, before, steps, last_mile, late, estimated=estimated)
    # On pace to reach the delivery station ahead of the promised day.
    pace = promise_days * 24 * 60 * rng.uniform(0.45, 0.85)
    return _Timing(shipped_at, before, steps, last_mile, late, pace_minutes=pace)


def _after_delivery(
    rng: random.Random,
    status: OrderStatus,
    promise_days: int,
    fresh: bool,
    route: _Route,
    now: datetime,
) -> _Timing:
    """Worked back from the delivery day; returns are asked for within the return window."""
    today = now.date()
    window = {S.DELIVERED: (0, 32), S.RETURN_REQUESTED: (0, 1 if fresh else 6)}.get(status, (3, 32))
    delivery_day = today - timedelta(days=rng.randint(*window))
    transit_days = rng.choices(
        (promise_days - 1, promise_days, promise_days + rng.randint(1, 3)), (30, 55, 15)
    )[0]
    delivered_at = _at(rng, delivery_day, 9, 17 if delivery_day == today else 20)
    shipped_at = min(
        _at(rng, delivery_day - timedelta(days=transit_days), 8, 21),
        delivered_at - timedelta(hours=5),
    )
    out_at = delivered_at - timedelta(minutes=rng.randrange(30, 180))
    last_mile = [
        (out_at, route.station, "Out for delivery"),
        (delivered_at, route.address, rng.choice(cat.DELIVERY_NOTES)),
    ]
    late = shipped_at.date() + timedelta(days=promise_days) < delivery_day
    every = len(route.transit)
    return _Timing(shipped_at, out_at, (every, every), last_mile, late, delivered_at=delivered_at)


def make_trip(
    rng: random.Random,
    status: OrderStatus,
    destination: Destination,
    fresh: bool,
    now: datetime,
    used_tracking_numbers: set[str],
) -> Trip:
    """Fresh and chilled goods go by cold chain and are promised for the next day or two."""
    weights = [c.cold_chain_weight if fresh else c.regular_weight for c in cat.CARRIERS]
    carrier = rng.choices(cat.CARRIERS, weights)[0]
    tracking_number = _tracking_number(rng, carrier, used_tracking_numbers)
    promise_days = rng.randint(1, 2) if fresh else rng.randint(2, 5)
    route = _route(destination)
    if status in ON_THE_WAY:
        timing = _on_the_way(rng, status, promise_days, route, now)
    else:
        timing = _after_delivery(rng, status, promise_days, fresh, route, now)

    steps = list(route.transit)
    if timing.late:  # held at the last sorting centre it arrived at
        steps = steps[: timing.steps[1]]
        held = max(
            index
            for index, (place, text, _) in enumerate(steps)
            if place != route.station and text.startswith("Arrived")
        )
        steps.insert(held + 1, (steps[held][0], rng.choice(cat.DELAY_REASONS), DELAY_WEIGHT))
    times = _schedule(rng, timing, [weight for _, _, weight in steps])
    events: list[Event] = [(timing.shipped_at, route.pickup, f"Picked up by {carrier.name}")]
    events += [(at, place, text) for at, (place, text, _) in zip(times, steps, strict=False)]
    return Trip(
        carrier=carrier,
        tracking_number=tracking_number,
        promised=timing.shipped_at.date() + timedelta(days=promise_days),
        estimated=timing.estimated,
        delivered_at=timing.delivered_at,
        events=events + timing.last_mile,
    )
