"""What an incident notice says to a customer, and how far a fan-out has got.

A notice names the customer's own orders, what happened, the new estimate and the
compensation the delay policy gives, so it answers the questions a customer would
otherwise bring to the desk. One notice per customer per update, however many orders.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.delays import VOUCHER, VOUCHER_AFTER_DAYS
from bot.domain.incidents import Incident
from bot.domain.money import cny

# Telegram's limits for a bot: about 30 messages a second in all (we keep to 25 for
# headroom) and one a second to the same chat.
TELEGRAM_MESSAGES_PER_SECOND = 25
STOP_NOTICES = "Stop these messages"
MAX_ORDERS_NAMED = 5


class Occasion(StrEnum):
    DECLARED = "declared"
    NEW_ESTIMATE = "new_estimate"
    NEW_NOTE = "new_note"
    RESOLVED = "resolved"


def _orders(numbers: Sequence[str]) -> str:
    shown = ", ".join(numbers[:MAX_ORDERS_NAMED])
    more = len(numbers) - MAX_ORDERS_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def compensation_words() -> str:
    """The delay policy (bot/domain/delays.py) for an order an incident delays."""
    return (
        "Orders it delays qualify for compensation: your shipping fee back, and a "
        f"{cny(VOUCHER)} voucher if one arrives more than {VOUCHER_AFTER_DAYS} days late. "
        "Ask me about your order any time for its details."
    )


def notice_text(incident: Incident, occasion: Occasion, order_numbers: Sequence[str]) -> str:
    orders = f"your order{'s' if len(order_numbers) > 1 else ''} {_orders(order_numbers)}"
    if occasion is Occasion.RESOLVED:
        return (
            f"Good news about {orders}: {incident.title} is over and deliveries are back to "
            f"normal. {compensation_words()}"
        ).strip()
    heading = {
        Occasion.DECLARED: f"A heads-up about {orders}: {incident.title}.",
        Occasion.NEW_ESTIMATE: f"An update about {orders}: {incident.title}.",
        Occasion.NEW_NOTE: f"An update about {orders}: {incident.title}.",
    }[occasion]
    estimate = (
        f" We now expect deliveries to be back to normal by "
        f"{incident.expected_recovery.astimezone(SHOP_TIMEZONE):%a %-d %b, %H:%M}."
        if incident.expected_recovery
        else ""
    )
    return f"{heading} {incident.customer_note}{estimate} {compensation_words()}".strip()


@dataclass(frozen=True)
class Progress:
    incident_id: int
    planned: int
    sent: int
    failed: int
    skipped: int
    started_at: datetime | None
    now: datetime

    @property
    def left(self) -> int:
        return max(0, self.planned - self.sent - self.failed - self.skipped)

    def minutes_left(self) -> int | None:
        """From the rate so far, or Telegram's limit before anything was sent; None when
        nothing is left."""
        if not self.left:
            return None
        elapsed = (self.now - self.started_at).total_seconds() if self.started_at else 0.0
        done = self.sent + self.failed + self.skipped
        rate = done / elapsed if done and elapsed > 0 else TELEGRAM_MESSAGES_PER_SECOND
        return max(1, math.ceil(self.left / rate / 60))

    def describe(self) -> str:
        text = (
            f"incident {self.incident_id}: {self.sent:,} of {self.planned:,} notices sent, "
            f"{self.failed:,} failed"
        )
        if self.skipped:
            text += f", {self.skipped:,} skipped (opted out)"
        minutes = self.minutes_left()
        return text + (f", about {minutes} min left" if minutes else ", done")


@dataclass(frozen=True)
class Recipient:
    """Where a customer can be reached: their linked channel account."""

    customer_id: int
    account_id: int
    channel: str


@dataclass(frozen=True)
class PlannedNotice:
    recipient: Recipient
    order_numbers: tuple[str, ...]
    text: str


def plan_notices(
    incident: Incident,
    occasion: Occasion,
    orders: Sequence[tuple[str, int]],
    recipients: dict[int, Recipient],
) -> list[PlannedNotice]:
    """One notice per reachable customer, naming all of their orders in scope, in the
    order of their customer id (a stable order: a restarted fan-out goes the same way)."""
    by_customer: dict[int, list[str]] = {}
    for number, customer_id in orders:
        if customer_id in recipients:
            by_customer.setdefault(customer_id, []).append(number)
    return [
        PlannedNotice(
            recipients[customer_id],
            tuple(sorted(numbers)),
            notice_text(incident, occasion, sorted(numbers)),
        )
        for customer_id, numbers in sorted(by_customer.items())
    ]
