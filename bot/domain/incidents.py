"""Incidents: what the shop's emergency group has declared (lockdowns, carrier outages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class IncidentKind(StrEnum):
    REGIONAL_LOCKDOWN = "regional_lockdown"
    CARRIER_OUTAGE = "carrier_outage"
    WEATHER = "weather"
    WAREHOUSE = "warehouse"


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
    severity: int = 2  # 1 local fault .. 4 major disaster, as the emergency plans tier them

    def is_active(self, at: datetime) -> bool:
        return self.started_at <= at and (self.resolved_at is None or self.resolved_at > at)

    def affects(self, *, region: str, carrier: str | None) -> bool:
        """An incident covers an order when its region or its carrier is named."""
        return region in self.regions or (carrier is not None and carrier in self.carriers)
