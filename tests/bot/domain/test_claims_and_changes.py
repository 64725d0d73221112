from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.aftersales import Resolution
from bot.domain.claims import assess_claim, description_problem, parse_resolution
from bot.domain.order_changes import address_problem, can_change, explain_no_change
from bot.domain.orders import OrderStatus
from tests.bot.domain.builders import NOW, RICE_COOKER, STRAWBERRIES, order, shipment


def test_fresh_goods_can_be_claimed_for_48_hours_regular_for_7_days() -> None:
    mixed = order(lines=(RICE_COOKER, STRAWBERRIES))

    within_two_days = assess_claim(mixed, shipment(delivered_at=NOW - timedelta(hours=47)), now=NOW)
    after_three_days = assess_claim(mixed, shipment(delivered_at=NOW - timedelta(days=3)), now=NOW)
    after_eight_days = assess_claim(mixed, shipment(delivered_at=NOW - timedelta(days=8)), now=NOW)

    assert within_two_days.lines == (RICE_COOKER, STRAWBERRIES)
    assert after_three_days.lines == (RICE_COOKER,)
    assert after_eight_days.lines == () and after_eight_days.reason is not None


def test_no_claim_before_delivery() -> None:
    eligibility = assess_claim(order(OrderStatus.IN_TRANSIT), shipment(), now=NOW)

    assert eligibility.reason is not None and "refuse it at the door" in eligibility.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a refund please", Resolution.REFUND),
        ("I'd like my money back", Resolution.REFUND),
        ("send me a new one", Resolution.REPLACEMENT),
        ("Replacement", Resolution.REPLACEMENT),
        ("not sure", None),
        ("refund or replace, whatever", None),
    ],
)
def test_resolution_choice(text: str, expected: Resolution | None) -> None:
    assert parse_resolution(text) == expected


def test_descriptions_and_addresses_must_say_enough() -> None:
    assert description_problem("bad") is not None
    assert description_problem("the box of strawberries was mouldy") is None
    assert address_problem("home") is not None
    assert address_problem("Zhongshan Road, Shanghai") is not None  # no number
    assert address_problem("Room 5, 12 Nanjing Road, Huangpu District, Shanghai") is None


@pytest.mark.parametrize(
    "status", [OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.PACKED]
)
def test_orders_in_the_warehouse_can_change(status: OrderStatus) -> None:
    assert can_change(order(status))


def test_shipped_order_cannot_be_cancelled_and_the_alternative_is_given() -> None:
    shipped = order(OrderStatus.IN_TRANSIT)

    assert not can_change(shipped)
    assert "refuse the parcel" in explain_no_change(shipped, shipment(), change="cancel")
    redirect = explain_no_change(shipped, shipment(), change="address")
    assert "ask SF Express to redirect it" in redirect and "SF1234567890123" in redirect
