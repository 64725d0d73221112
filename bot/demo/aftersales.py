"""The demo shop's returns, refunds and quality claims, derived from its orders.

Each case fits its order's status and the policies in the knowledge base: a
`return_requested` order has its return (most with a pending refund), a
`refunded` order was paid back in full, some paid orders that were cancelled
were refunded, and fresh food delivered lately has a few quality claims.
Only paid refunds that cover an order's goods make it `refunded`, which is
also the rule `bot.backends.sql` applies to new refunds.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from bot.demo.catalogue import FRESH_PROBLEMS, NO_REASON_REASONS, QUALITY_REASONS
from bot.demo.rows import ClaimRow, DemoShop, LineRow, OrderRow, RefundRow, ReturnRow

# The serials the demo starts from: the shop has been handling cases for a while.
FIRST_SERIALS = {"R": 121, "RF": 452, "QC": 76}
# Working days until the money arrives, by refund method (refund-timeline article).
REFUND_WORKING_DAYS = {"wallet": 1, "card": 5, "bank_transfer": 7}
RETURN_TRANSIT_AND_CHECK_DAYS = 5  # the parcel travels back, the warehouse checks it
FRESH_CLAIM_WINDOW = timedelta(hours=48)
NO_REASON_WINDOW = timedelta(days=7)
LIVE_SEAFOOD = frozenset({"FR-4006", "FR-4007"})
FROZEN = frozenset({"CH-5003", "CH-5004", "CH-5006"})


def add_working_days(day: date, days: int) -> date:
    """Weekends do not count; public holidays are left out of the demo."""
    while days > 0:
        day += timedelta(days=1)
        days -= day.weekday() < 5
    return day


def refund_method(payment_method: str) -> str:
    """Cash on delivery has no card or account to pay back: it goes to the shop wallet."""
    return "wallet" if payment_method == "cash_on_delivery" else payment_method


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole minute after `start` and not after `end` (then `start` plus one minute)."""
    minutes = int((end - start).total_seconds() // 60)
    return start + timedelta(minutes=rng.randint(1, max(1, minutes)))


def _some(rng: random.Random, lines: Sequence[LineRow]) -> list[LineRow]:
    """Usually everything of that kind, sometimes just part of it."""
    if len(lines) == 1 or rng.random() < 0.6:
        return list(lines)
    return sorted(rng.sample(list(lines), rng.randint(1, len(lines) - 1)), key=lambda x: x["id"])


def _value(lines: Sequence[LineRow]) -> Decimal:
    return sum((line["unit_price"] * line["quantity"] for line in lines), Decimal("0.00"))


def _fresh_problems(rng: random.Random, lines: Sequence[LineRow]) -> str:
    """What the customer reported, item by item, as the claim form asks for it."""
    problems = []
    for line in lines:
        kind = "chilled" if line["kind"] == "chilled" else "fruit"
        kind = "live" if line["sku"] in LIVE_SEAFOOD else kind
        kind = "frozen" if line["sku"] in FROZEN else kind
        problems.append(f"{line['name']}: {rng.choice(FRESH_PROBLEMS[kind])}")
    return "; ".join(problems) + ". Photos attached."


def _quality_reason(rng: random.Random, lines: Sequence[LineRow]) -> str:
    line = rng.choice(list(lines))
    if line["kind"] != "regular":
        return _fresh_problems(rng, [line])
    return f"{line['name']}: {rng.choice(QUALITY_REASONS[line['sku'][:2]])}"


class _Cases:
    """Collects the cases, then numbers each kind in the order the cases were opened."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng, self.now = rng, now
        self.returns: list[ReturnRow] = []
        self.claims: list[ClaimRow] = []
        # With the return or claim each refund pays for: ids are known only at the end.
        self.refunds: list[tuple[RefundRow, ReturnRow | None, ClaimRow | None]] = []

    def refund(
        self,
        order: OrderRow,
        amount: Decimal,
        status: str,
        created_at: datetime,
        reason: str,
        *,
        for_return: ReturnRow | None = None,
        for_claim: ClaimRow | None = None,
        extra_days: int = 0,
    ) -> None:
        method = refund_method(order["payment_method"])
        expected = add_working_days(created_at.date(), REFUND_WORKING_DAYS[method] + extra_days)
        row: RefundRow = {
            "id": "", "order_number": order["number"], "return_id": None, "amount": amount,
            "method": method, "status": status, "created_at": created_at,
            "expected_by": expected, "reason": reason,
        }  # fmt: skip
        self.refunds.append((row, for_return, for_claim))

    def open_return(
        self,
        order: OrderRow,
        lines: list[LineRow],
        kind: str,
        status: str,
        after: datetime,
        *,
        by: datetime | None = None,
    ) -> ReturnRow:
        """Asked for within the return window after delivery, and before `by` if given."""
        window = NO_REASON_WINDOW if kind == "no_reason" else FRESH_CLAIM_WINDOW
        if kind == "quality" and all(line["kind"] == "regular" for line in lines):
            window = NO_REASON_WINDOW
        latest = min(after + window, by or self.now - timedelta(minutes=10))
        reason = (
            self.rng.choice(NO_REASON_REASONS)
            if kind == "no_reason"
            else _quality_reason(self.rng, lines)
        )
        row: ReturnRow = {
            "id": "", "order_number": order["number"], "kind": kind,
            "skus": [line["sku"] for line in lines], "reason": reason, "status": status,
            "created_at": _between(self.rng, after + timedelta(minutes=20), latest),
        }  # fmt: skip
        self.returns.append(row)
        return row

    def open_claim(
        self, order: OrderRow, lines: list[LineRow], resolution: str, status: str, after: datetime
    ) -> ClaimRow:
        latest = min(after + timedelta(hours=40), self.now - timedelta(minutes=10))
        notes = ["Photos received"] if status != "open" else []
        if status != "open":
            notes.append(
                "Approved: refund of the affected items"
                if resolution == "refund"
                else "Approved: replacement in the next cold-chain delivery"
            )
        if status == "resolved" and resolution == "replacement":
            notes.append("Replacement delivered")
        row: ClaimRow = {
            "id": "", "order_number": order["number"],
            "description": _fresh_problems(self.rng, lines),
            "resolution": resolution, "skus": [line["sku"] for line in lines],
            "status": status, "created_at": _between(self.rng, after, latest), "notes": notes,
        }  # fmt: skip
        self.claims.append(row)
        return row

    def write_to(self, shop: DemoShop) -> None:
        shop.returns = _numbered("R", self.returns)
        shop.claims = _numbered("QC", self.claims)
        for refund, paid_return, claim in self.refunds:
            refund["return_id"] = paid_return["id"] if paid_return else None
            if claim is not None:
                refund["reason"] = f"Quality claim {claim['id']} approved"
        shop.refunds = _numbered("RF", [refund for refund, _, _ in self.refunds])


Case = TypeVar("Case", ReturnRow, RefundRow, ClaimRow)


def _numbered(prefix: str, rows: list[Case]) -> list[Case]:
    """Serials follow creation time, so the highest serial is always the latest case."""
    ordered = sorted(rows, key=lambda row: (row["created_at"], row["order_number"]))
    for serial, row in enumerate(ordered, start=FIRST_SERIALS[prefix]):
        row["id"] = f"{prefix}-{row['created_at'].year}-{serial:06d}"
    return ordered


def _return_requested(cases: _Cases, order: OrderRow, lines: list[LineRow], at: datetime) -> None:
    """Change of mind for regular goods; fresh goods come back only for their quality."""
    rng = cases.rng
    regular = [line for line in lines if line["kind"] == "regular"]
    fresh = [line for line in lines if line["kind"] != "regular"]
    if regular and (not fresh or rng.random() < 0.5):
        kind, chosen = ("no_reason" if rng.random() < 0.75 else "quality"), _some(rng, regular)
    else:
        kind, chosen = "quality", _some(rng, fresh)
    status = rng.choices(("requested", "approved", "received"), (55, 35, 10))[0]
    opened = cases.open_return(order, chosen, kind, status, at)
    if rng.random() < 0.85:
        amount = _value(chosen)
        if kind == "quality" and len(chosen) == len(lines):  # our fault: shipping paid back
            amount += order["shipping_fee"]
        refund_status = "processing" if status == "received" and rng.random() < 0.5 else "pending"
        created = opened["created_at"] + timedelta(minutes=rng.randint(1, 5))
        reason = "Return requested: refunded once the returned items pass the check"
        days = RETURN_TRANSIT_AND_CHECK_DAYS
        cases.refund(
            order, amount, refund_status, created, reason, for_return=opened, extra_days=days
        )


def _refunded(cases: _Cases, order: OrderRow, lines: list[LineRow], at: datetime | None) -> None:
    """Refunded in full: before dispatch, after a return, or after a fresh food claim."""
    rng, now = cases.rng, cases.now
    goods, fee = _value(lines), order["shipping_fee"]
    if at is None:
        placed = order["placed_at"]
        created = _between(rng, placed, min(placed + timedelta(hours=20), now - timedelta(hours=1)))
        cases.refund(order, goods + fee, "paid", created, "Refund requested before dispatch")
        return
    if all(line["kind"] != "regular" for line in lines):
        claim = cases.open_claim(order, lines, "refund", "resolved", at)
        created = _between(rng, claim["created_at"], claim["created_at"] + timedelta(hours=6))
        cases.refund(order, goods + fee, "paid", created, "", for_claim=claim)
        return
    fresh = any(line["kind"] != "regular" for line in lines)
    kind = "quality" if fresh or rng.random() < 0.3 else "no_reason"
    # Early enough for the parcel to come back and be checked before now.
    opened = cases.open_return(order, lines, kind, "completed", at, by=at + (now - at) * 0.4)
    back = opened["created_at"] + min(timedelta(days=2), (now - opened["created_at"]) / 2)
    created = _between(rng, back, min(back + timedelta(days=3), now - timedelta(hours=1)))
    amount = goods + fee if kind == "quality" else goods
    reason = "Returned items received and checked"
    cases.refund(order, amount, "paid", created, reason, for_return=opened)


def _cancelled(cases: _Cases, order: OrderRow, lines: list[LineRow]) -> None:
    """Half were paid and are refunded; the rest lapsed unpaid or were cash on delivery."""
    if order["payment_method"] == "cash_on_delivery" or cases.rng.random() >= 0.5:
        return
    placed, now = order["placed_at"], cases.now
    created = _between(
        cases.rng, placed, min(placed + timedelta(hours=6), now - timedelta(minutes=10))
    )
    amount = _value(lines) + order["shipping_fee"]
    cases.refund(order, amount, "paid", created, "Order cancelled before dispatch")


def _fresh_claim(cases: _Cases, order: OrderRow, lines: list[LineRow], at: datetime) -> None:
    """Claims come within 48 hours; older ones are long settled, by replacement."""
    rng, now = cases.rng, cases.now
    fresh = [line for line in lines if line["kind"] != "regular"]
    if not fresh:
        return
    if now - at <= FRESH_CLAIM_WINDOW and rng.random() < 0.5:
        resolution = "refund" if rng.random() < 0.6 else "replacement"
        status = "open" if rng.random() < 0.6 else "approved"
        claim = cases.open_claim(order, _some(rng, fresh), resolution, status, at)
        if status == "approved" and resolution == "refund":
            created = _between(rng, claim["created_at"], now - timedelta(minutes=5))
            amount = _value([line for line in fresh if line["sku"] in claim["skus"]])
            cases.refund(order, amount, "processing", created, "", for_claim=claim)
    elif now - at > FRESH_CLAIM_WINDOW and rng.random() < 0.06:
        cases.open_claim(order, _some(rng, fresh), "replacement", "resolved", at)


def add_aftersales(rng: random.Random, shop: DemoShop, now: datetime) -> None:
    """Fills the shop's returns, refunds and claims from its orders, lines and shipments."""
    lines: defaultdict[str, list[LineRow]] = defaultdict(list)
    for line in shop.lines:
        lines[line["order_number"]].append(line)
    delivered = {s["order_number"]: s["delivered_at"] for s in shop.shipments}
    cases = _Cases(rng, now)
    for order in shop.orders:
        number, status = order["number"], order["status"]
        at = delivered.get(number)
        if status == "return_requested" and at is not None:
            _return_requested(cases, order, lines[number], at)
        elif status == "refunded":
            _refunded(cases, order, lines[number], at)
        elif status == "cancelled":
            _cancelled(cases, order, lines[number])
        elif status == "delivered" and at is not None:
            _fresh_claim(cases, order, lines[number], at)
    cases.write_to(shop)
