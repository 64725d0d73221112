from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.domain.delays import assess_delay, incident_heads_up
from bot.domain.order_questions import (
    OrderQuestion,
    answer_carrier,
    answer_compensation,
    answer_return_window,
    answer_shipping_fee,
    order_question,
)
from bot.domain.orders import OrderStatus
from bot.domain.returns import assess_return
from tests.bot.domain.builders import NOW, STRAWBERRIES, TODAY, incident, order, shipment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok and can i get compensation for the wait?", OrderQuestion.COMPENSATION),
        ("do i get a voucher for the delay", OrderQuestion.COMPENSATION),
        ("anything for the trouble?", OrderQuestion.COMPENSATION),
        ("what about a refund of the shipping fee", OrderQuestion.SHIPPING_FEE),
        ("do I get my delivery charge back", OrderQuestion.SHIPPING_FEE),
        ("how do i contact the courier", OrderQuestion.CARRIER),
        ("what's the driver's phone number", OrderQuestion.CARRIER),
        ("which courier is delivering it", OrderQuestion.CARRIER),
        ("how long do I have to return it", OrderQuestion.RETURN_WINDOW),
        ("until when can i send it back... return deadline?", OrderQuestion.RETURN_WINDOW),
        ("can i still return it", OrderQuestion.RETURN_WINDOW),
        ("what is your returns policy", None),
        ("do you deliver on sundays", None),
        ("how do vouchers work", None),
    ],
)
def test_order_questions_are_recognised(text: str, expected: OrderQuestion | None) -> None:
    assert order_question(text) is expected


def test_a_late_order_with_compensation_says_what_it_gets_and_that_it_is_automatic() -> None:
    late = shipment(promised=TODAY - timedelta(days=3))
    assessment = assess_delay(order(OrderStatus.IN_TRANSIT), late, [], today=TODAY)

    text = answer_compensation(assessment)

    assert text.startswith("Order 100245 is 3 days late, so under our delay policy you get")
    assert "CNY 10.00 voucher" in text
    assert "added to your account automatically" in text
    assert "order number" not in text  # never asks for what it has


def test_a_slightly_late_order_says_when_the_voucher_starts() -> None:
    late = shipment(promised=TODAY - timedelta(days=1))
    assessment = assess_delay(order(OrderStatus.IN_TRANSIT), late, [], today=TODAY)

    text = answer_compensation(assessment)

    assert "is 1 day late, which is not yet enough for compensation" in text
    assert f"hasn't arrived by {TODAY + timedelta(days=2):%a %d %b}" in text


def test_an_order_on_time_has_no_compensation() -> None:
    assessment = assess_delay(order(OrderStatus.IN_TRANSIT), shipment(), [], today=TODAY)

    assert "isn't late: it's promised for Sat 21 Nov" in answer_compensation(assessment)


def test_a_delivered_late_order_says_what_it_got() -> None:
    arrived = shipment(promised=TODAY - timedelta(days=6), delivered_at=NOW - timedelta(days=2))
    delivered = order(OrderStatus.DELIVERED, shipping_fee=Decimal("8"))
    assessment = assess_delay(delivered, arrived, [], today=TODAY)

    text = answer_compensation(assessment)

    assert "arrived 4 days late, so you got a CNY 10.00 voucher" in text


def test_the_shipping_fee_comes_back_when_an_incident_delays_the_order() -> None:
    late = shipment(promised=TODAY - timedelta(days=1))
    fee = order(OrderStatus.IN_TRANSIT, shipping_fee=Decimal("12"))
    assessment = assess_delay(fee, late, [incident()], today=TODAY)

    text = answer_shipping_fee(assessment)

    assert text.startswith("You paid CNY 12.00 shipping on order 100245.")
    assert "Because it is held up by the Shanghai lockdown, you get it back" in text


def test_the_shipping_fee_of_an_order_on_time_is_not_refunded_and_says_when_it_would_be() -> None:
    fee = order(OrderStatus.IN_TRANSIT, shipping_fee=Decimal("12"))
    assessment = assess_delay(fee, shipment(), [], today=TODAY)

    text = answer_shipping_fee(assessment)

    assert "more than 5 days late or held up by a declared incident" in text
    assert "neither applies to this order now" in text


def test_free_shipping_has_no_fee_to_refund() -> None:
    assessment = assess_delay(order(OrderStatus.IN_TRANSIT), shipment(), [], today=TODAY)

    assert "had free shipping" in answer_shipping_fee(assessment)


def test_the_carrier_answer_gives_the_tracking_number_and_hotline() -> None:
    text = answer_carrier("100245", OrderStatus.IN_TRANSIT, shipment())

    assert "with SF Express, tracking number SF1234567890123" in text
    assert "customer line is 95338" in text


def test_an_order_not_shipped_has_no_courier_yet() -> None:
    text = answer_carrier("100245", OrderStatus.PAID, None)

    assert "hasn't been handed to a carrier yet" in text


def test_the_return_window_gives_the_last_day_and_the_days_left() -> None:
    delivered = shipment(promised=TODAY - timedelta(days=3), delivered_at=NOW - timedelta(days=2))
    mixed = order(OrderStatus.DELIVERED, lines=(order().lines[0], STRAWBERRIES))

    text = answer_return_window(assess_return(mixed, delivered, now=NOW), mixed, now=NOW)

    assert "without giving a reason until Wed 25 Nov (5 days left)" in text
    assert "Fresh and chilled items can only go back for a quality problem" in text


def test_the_return_window_of_an_order_on_its_way_has_not_started() -> None:
    on_the_way = order(OrderStatus.IN_TRANSIT)

    eligibility = assess_return(on_the_way, shipment(), now=NOW)

    assert "starts on the day it's delivered" in answer_return_window(
        eligibility, on_the_way, now=NOW
    )


def test_the_incident_heads_up_names_the_cause_note_and_compensation() -> None:
    late = shipment(promised=TODAY - timedelta(days=1))
    fee = order(OrderStatus.IN_TRANSIT, shipping_fee=Decimal("12"))
    assessment = assess_delay(fee, late, [incident()], today=TODAY)

    text = incident_heads_up(assessment)

    assert text.startswith("First, a heads-up: order 100245 is affected by the Shanghai lockdown.")
    assert "Deliveries go to community pick-up points." in text
    assert "you get your shipping fee of CNY 12.00 back for it" in text


def test_the_heads_up_for_an_order_not_yet_late_says_what_a_delay_would_earn() -> None:
    assessment = assess_delay(order(OrderStatus.PAID), None, [incident()], today=TODAY)

    assert "If it delays your order past its promised date" in incident_heads_up(assessment)
