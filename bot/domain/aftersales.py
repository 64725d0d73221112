"""Returns, refunds and quality claims as the shop's order system records them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class ReturnKind(StrEnum):
    NO_REASON = "no_reason"  # regular goods, within 7 days of delivery
    QUALITY = "quality"  # damaged, spoiled, wrong or missing


class RefundStatus(StrEnum):
    PENDING = "pending"  # waiting for the returned parcel or a review
    PROCESSING = "processing"  # sent to the payment provider
    PAID = "paid"


class Resolution(StrEnum):
    REFUND = "refund"
    REPLACEMENT = "replacement"


@dataclass(frozen=True)
class ReturnRequest:
    id: str
    order_number: str
    kind: ReturnKind
    skus: tuple[str, ...]
    reason: str
    created_at: datetime
    status: str = "requested"


@dataclass(frozen=True)
class Refund:
    id: str
    order_number: str
    amount: Decimal
    method: str
    status: RefundStatus
    created_at: datetime
    expected_by: date
    reason: str
    return_id: str | None = None


@dataclass(frozen=True)
class QualityClaim:
    id: str
    order_number: str
    description: str
    resolution: Resolution
    skus: tuple[str, ...]
    created_at: datetime
    status: str = "open"
    notes: tuple[str, ...] = field(default_factory=tuple)
