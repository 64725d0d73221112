"""Incidents: what the shop's emergency group has declared (lockdowns, carrier outages).

An incident's scope is regions and/or carriers, optionally narrowed to orders placed in
a date range (a warehouse fault hits one night's orders). Its status follows the
emergency plans' cycle, investigating -> identified -> monitoring -> resolved, and
every change is one entry of its timeline (bot/storage/incidents.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

SEVERITIES = range(1, 5)  # 1 local fault .. 4 major disaster, as the emergency plans tier them
MAX_NOTE_CHARS = 1000
MAX_TITLE_CHARS = 160


class IncidentKind(StrEnum):
    REGIONAL_LOCKDOWN = "regional_lockdown"
    CARRIER_OUTAGE = "carrier_outage"
    WEATHER = "weather"
    WAREHOUSE = "warehouse"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Incident:
    id: int
    kind: IncidentKind
    title: str
    started_at: datetime
    customer_note: str
    regions: tuple[str, ...] = field(default_factory=tuple)
    carriers: tuple[str, ...] = field(default_factory=tuple)
    expected_recovery: datetime | None = None
    resolved_at: datetime | None = None
    severity: int = 2
    status: IncidentStatus = IncidentStatus.IDENTIFIED
    internal_note: str = ""
    orders_from: date | None = None
    orders_to: date | None = None

    def is_active(self, at: datetime) -> bool:
        return self.started_at <= at and (self.resolved_at is None or self.resolved_at > at)

    def affects(self, *, region: str, carrier: str | None, ordered_on: date | None = None) -> bool:
        """An incident covers an order when it names the order's region or its carrier,
        both when it names regions and carriers ("SF Express is down in Hubei" is not every
        Hubei order), and the order was placed in the incident's date range if it has one."""
        return covers(
            self.regions, self.carriers, region=region, carrier=carrier
        ) and self.covers_order_date(ordered_on)

    def covers_order_date(self, ordered_on: date | None) -> bool:
        if ordered_on is None:
            return self.orders_from is None and self.orders_to is None
        if self.orders_from is not None and ordered_on < self.orders_from:
            return False
        return self.orders_to is None or ordered_on <= self.orders_to

    @property
    def scope_text(self) -> str:
        """The scope in a few words, for staff: "Hubei (Wuhan); SF Express; orders 1-2 Dec"."""
        parts = [", ".join(self.regions), ", ".join(self.carriers)]
        if self.orders_from or self.orders_to:
            start = f"{self.orders_from:%-d %b}" if self.orders_from else "…"
            end = f"{self.orders_to:%-d %b}" if self.orders_to else "…"
            parts.append(f"orders {start} to {end}")
        return "; ".join(part for part in parts if part) or "no scope"


def covers(
    regions: Sequence[str], carriers: Sequence[str], *, region: str, carrier: str | None
) -> bool:
    """The scope rule, shared by the registry and the shop adapters' queries."""
    in_region = region in regions
    with_carrier = carrier is not None and carrier in carriers
    if regions and carriers:
        return in_region and with_carrier
    return in_region or with_carrier


def most_relevant(incidents: list[Incident]) -> Incident | None:
    """The incident to name when several cover one order: the most severe, then newest."""
    return max(incidents, key=lambda i: (i.severity, i.started_at), default=None)
