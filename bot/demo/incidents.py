"""The demo shop's incidents, placed relative to the moment the shop is looked at.

Two are under way (a lockdown in Wuhan, a ZTO Express outage) and two are
over, so both customers ("why is my parcel stuck?") and ops staff ("what is
open?") have something real to ask about. Late parcels that an active
incident covers are held by it in their tracking, so the bot's explanation
and the carrier's last event tell the same story.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from bot.demo import catalogue as cat
from bot.demo.journeys import Event
from bot.demo.rows import IncidentRow
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incidents import IncidentKind

LOCKDOWN_REGION = "Hubei (Wuhan)"
OUTAGE_CARRIER = "ZTO Express"
BACKUP_CARRIER = "YTO Express"
TYPHOON_REGIONS = ("Guangdong (Guangzhou)", "Guangdong (Shenzhen)")
FAILED_WAREHOUSE = "Beijing Daxing warehouse"

# What a held parcel's tracking says, by the kind of incident holding it.
HOLD_EVENTS = {
    IncidentKind.REGIONAL_LOCKDOWN: "Held at hub: regional traffic controls",
    IncidentKind.CARRIER_OUTAGE: "Held at hub: sorting system outage, moving to a backup carrier",
    IncidentKind.WEATHER: "Held at hub: severe weather on the route",
}


def _at(now: datetime, days: int, hour: int, minute: int = 0) -> datetime:
    """`days` after the day of `now` (negative: before), Beijing time."""
    day = now.date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=SHOP_TIMEZONE)


def _day(moment: datetime | date) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}"


def _served_by(warehouse: str) -> list[str]:
    return [region.label for region in cat.REGIONS if region.warehouse == warehouse]


def demo_incidents(now: datetime) -> list[IncidentRow]:
    """Numbered in the order they started, as the emergency group would have logged them."""
    typhoon, typhoon_over = _at(now, -14, 8, 30), _at(now, -12, 19, 40)
    power, power_back = _at(now, -6, 1, 40), _at(now, -6, 10, 15)
    lockdown, lockdown_end = _at(now, -3, 6), _at(now, 2, 18)
    outage, outage_end = _at(now, -1, 14, 20), _at(now, 1, 12)
    return [
        {
            "id": 1, "kind": IncidentKind.WEATHER.value,
            "title": "Typhoon in Guangdong: deliveries suspended in Guangzhou and Shenzhen",
            "regions": list(TYPHOON_REGIONS), "carriers": [],
            "started_at": typhoon, "expected_recovery": _at(now, -12, 12),
            "resolved_at": typhoon_over, "severity": 3,
            "customer_note": (
                f"A typhoon made landfall in Guangdong on {_day(typhoon)}. For safety, carriers "
                "suspended pickups and deliveries in Guangzhou and Shenzhen and held parcels at "
                f"their sorting centres. Deliveries resumed on {_day(typhoon_over)}, fresh food "
                "first; orders it delayed qualify for delay compensation."
            ),
        },
        {
            "id": 2, "kind": IncidentKind.WAREHOUSE.value,
            "title": f"{FAILED_WAREHOUSE}: power failure, picking paused",
            "regions": _served_by(FAILED_WAREHOUSE), "carriers": [],
            "started_at": power, "expected_recovery": _at(now, -6, 12),
            "resolved_at": power_back, "severity": 1,
            "customer_note": (
                f"A power failure stopped picking at our {FAILED_WAREHOUSE} overnight on "
                f"{_day(power)}. Backup generators kept the cold store at temperature and every "
                "chilled item was checked before it left; orders placed that night shipped up "
                "to half a day late."
            ),
        },
        {
            "id": 3, "kind": IncidentKind.REGIONAL_LOCKDOWN.value,
            "title": "Epidemic control measures in Wuhan: deliveries restricted",
            "regions": [LOCKDOWN_REGION], "carriers": [],
            "started_at": lockdown, "expected_recovery": lockdown_end,
            "resolved_at": None, "severity": 3,
            "customer_note": (
                f"Since {_day(lockdown)}, epidemic control measures restrict traffic into and "
                "around Wuhan. Parcels bound for Wuhan are held at sorting centres and released "
                "in batches as road permits allow, fresh food and essentials first. Inside the "
                "city, couriers deliver contactless to community pick-up points and text you a "
                f"pickup code. We expect deliveries to be back to normal by {_day(lockdown_end)}."
            ),
        },
        {
            "id": 4, "kind": IncidentKind.CARRIER_OUTAGE.value,
            "title": f"{OUTAGE_CARRIER}: sorting-centre system failure",
            "regions": [], "carriers": [OUTAGE_CARRIER],
            "started_at": outage, "expected_recovery": outage_end,
            "resolved_at": None, "severity": 2,
            "customer_note": (
                f"The parcel sorting system of {OUTAGE_CARRIER} failed on the afternoon of "
                f"{_day(outage)}, and its sorting centres cannot process parcels until it is "
                f"repaired. {OUTAGE_CARRIER} parcels already on the way are held at its hubs; "
                f"orders not yet collected now ship with our backup carrier, {BACKUP_CARRIER}, "
                f"and you get the new tracking number by SMS. {OUTAGE_CARRIER} expects to work "
                f"normally again by {outage_end:%H:%M} on {_day(outage_end)}."
            ),
        },
    ]  # fmt: skip


def holding_incident(
    incidents: list[IncidentRow], *, region: str, carrier: str, now: datetime
) -> IncidentRow | None:
    """The active incident that holds a parcel on its way, the most severe if several do."""
    holding = [
        incident
        for incident in incidents
        if IncidentKind(incident["kind"]) in HOLD_EVENTS
        and incident["started_at"] <= now
        and (incident["resolved_at"] is None or incident["resolved_at"] > now)
        and (region in incident["regions"] or carrier in incident["carriers"])
    ]
    return max(holding, key=lambda incident: incident["severity"], default=None)


def held_events(
    rng: random.Random, events: list[Event], incident: IncidentRow, now: datetime
) -> list[Event]:
    """The journey up to the hub where the parcel was held, then held there by the incident.

    The generic delay the journey was generated with, and anything after it, give way
    to the incident: its hold is the latest event, and it comes after the incident began.
    """
    held = next(i for i, (_, _, text) in enumerate(events) if text in cat.DELAY_REASONS)
    kept, hub = events[:held], events[held][1]
    since = max(kept[-1][0], incident["started_at"])
    at = min(since + timedelta(minutes=rng.randint(20, 240)), now - timedelta(minutes=10))
    return [*kept, (at, hub, HOLD_EVENTS[IncidentKind(incident["kind"])])]


def held_estimate(estimated: date | None, incident: IncidentRow) -> date | None:
    """A carrier that gave a new date moves it past the incident's expected end."""
    recovery = incident["expected_recovery"]
    if estimated is None or recovery is None:
        return estimated
    return max(estimated, recovery.date() + timedelta(days=1))
