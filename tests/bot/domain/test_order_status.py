"""What a verified customer is told: lateness, the latest event, and the words used."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.domain.order_status import (
    STATUS_IN_WORDS,
    build_status_report,
    render_status_report,
)
from bot.domain.orders import (
    Customer,
    GoodsKind,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    TrackingEvent,
)

BEIJING = timezone(timedelta(hours=8))
TODAY = date(2025, 1, 8)  # a Wednesday
CUSTOMER = Customer(7, "Wang Fang", "+86 138 1234 5678", "wang.fang@example.com", "Shanghai")
LINES = (
    OrderLine(
        "EL-1001", "Wireless noise-cancelling earbuds", 1, Decimal("299.00"), GoodsKind.REGULAR
    ),
    OrderLine("CH-5001", "Fresh milk, 950 ml x 2", 3, Decimal("25.80"), GoodsKind.CHILLED),
)
PICKED_UP = TrackingEvent(
    datetime(2025, 1, 3, 14, 5, tzinfo=BEIJING),
    "Shanghai Jiading warehouse",
    "Picked up by SF Express",
)
HELD = TrackingEvent(
    datetime(2025, 1, 5, 9, 30, tzinfo=BEIJING),
    "Wuhan Dongxihu sorting centre",
    "Held at hub: carrier capacity shortage",
)
ARRIVED = TrackingEvent(
    datetime(2025, 1, 4, 2, 11, tzinfo=BEIJING),
    "Shanghai Qingpu sorting centre",
    "Arrived at sorting centre",
)


def _order(status: OrderStatus) -> Order:
    return Order(
        number="100245",
        status=status,
        placed_at=datetime(2025, 1, 2, 20, 15, tzinfo=BEIJING),
        customer=CUSTOMER,
        lines=LINES,
        payment_method="wallet",
    )


def _shipment(
    promised: date, estimated: date | None = None, delivered_at: datetime | None = None
) -> Shipment:
    # Events deliberately out of order: the latest is found by time, not by position.
    return Shipment(
        order_number="100245",
        carrier="SF Express",
        tracking_number="SF1234567890123",
        shipped_at=PICKED_UP.at,
        promised_date=promised,
        estimated_date=estimated,
        delivered_at=delivered_at,
        events=(PICKED_UP, HELD, ARRIVED),
    )


def test_order_total_is_the_sum_of_its_lines() -> None:
    assert _order(OrderStatus.PAID).total == Decimal("376.40")


@pytest.mark.parametrize(
    ("status", "promised", "late"),
    [
        (OrderStatus.IN_TRANSIT, TODAY - timedelta(days=1), True),
        (OrderStatus.SHIPPED, TODAY - timedelta(days=3), True),
        (OrderStatus.OUT_FOR_DELIVERY, TODAY - timedelta(days=1), True),
        (OrderStatus.IN_TRANSIT, TODAY, False),  # due today is not late yet
        (OrderStatus.IN_TRANSIT, TODAY + timedelta(days=2), False),
        (OrderStatus.DELIVERED, TODAY - timedelta(days=1), False),  # no longer on the way
        (OrderStatus.RETURN_REQUESTED, TODAY - timedelta(days=5), False),
    ],
)
def test_late_only_while_on_the_way_after_the_promised_date(
    status: OrderStatus, promised: date, late: bool
) -> None:
    report = build_status_report(_order(status), _shipment(promised), today=TODAY)
    assert report.is_late is late
    assert report.promised_date == promised


def test_report_carries_the_shipment_and_its_latest_event() -> None:
    estimate = TODAY + timedelta(days=2)
    report = build_status_report(
        _order(OrderStatus.IN_TRANSIT), _shipment(TODAY - timedelta(days=1), estimate), today=TODAY
    )
    assert report.order_number == "100245"
    assert report.status is OrderStatus.IN_TRANSIT
    assert report.carrier == "SF Express"
    assert report.tracking_number == "SF1234567890123"
    assert report.latest_event == HELD
    assert report.estimated_date == estimate
    assert report.delivered_on is None


def test_report_without_a_shipment() -> None:
    report = build_status_report(_order(OrderStatus.PAID), None, today=TODAY)
    assert (report.carrier, report.tracking_number, report.latest_event) == (None, None, None)
    assert (report.promised_date, report.is_late) == (None, False)
    text = render_status_report(report)
    assert text.splitlines() == [
        "Order 100245 is paid and waiting to be picked at our warehouse.",
        "It has not been handed to a carrier yet, so there is no tracking number.",
    ]


def test_late_order_with_a_new_estimate_reads_plainly() -> None:
    shipment = _shipment(date(2025, 1, 6), estimated=date(2025, 1, 10))
    report = build_status_report(_order(OrderStatus.IN_TRANSIT), shipment, today=TODAY)
    assert render_status_report(report).splitlines() == [
        "Order 100245 is on its way.",
        "Carrier: SF Express, tracking number SF1234567890123.",
        "Latest update: Held at hub: carrier capacity shortage, Wuhan Dongxihu sorting centre,"
        " 05 Jan 09:30.",
        "It was promised for Mon 06 Jan 2025, so it is running late;"
        " the carrier's new estimate is Fri 10 Jan 2025.",
    ]


def test_late_order_without_a_new_estimate_says_so() -> None:
    report = build_status_report(
        _order(OrderStatus.SHIPPED), _shipment(date(2025, 1, 6)), today=TODAY
    )
    assert render_status_report(report).endswith(
        "It was promised for Mon 06 Jan 2025, so it is running late;"
        " the carrier has not given a new date yet."
    )


def test_on_time_order_gives_the_expected_day() -> None:
    report = build_status_report(
        _order(OrderStatus.IN_TRANSIT), _shipment(date(2025, 1, 9)), today=TODAY
    )
    assert render_status_report(report).splitlines()[-1] == "Expected delivery: Thu 09 Jan 2025."


def test_delivered_order_gives_the_delivery_day_not_a_promise() -> None:
    delivered_at = datetime(2025, 1, 7, 16, 28, tzinfo=BEIJING)
    report = build_status_report(
        _order(OrderStatus.DELIVERED),
        _shipment(date(2025, 1, 6), delivered_at=delivered_at),
        today=TODAY,
    )
    assert report.delivered_on == date(2025, 1, 7)
    text = render_status_report(report)
    assert text.startswith("Order 100245 has been delivered.\n")
    assert text.endswith("Delivered on Tue 07 Jan 2025.")
    assert "late" not in text


@pytest.mark.parametrize("status", [OrderStatus.CANCELLED, OrderStatus.REFUNDED])
def test_closed_order_without_shipment_is_one_line(status: OrderStatus) -> None:
    report = build_status_report(_order(status), None, today=TODAY)
    assert render_status_report(report) == f"Order 100245 {STATUS_IN_WORDS[status]}."


def test_every_status_has_words() -> None:
    assert set(STATUS_IN_WORDS) == set(OrderStatus)
