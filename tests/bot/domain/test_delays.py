from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.domain.delays import assess_delay, render_delay
from bot.domain.orders import OrderStatus
from tests.bot.domain.builders import NOW, TODAY, incident, order, shipment


def test_an_order_before_its_promised_date_is_not_late() -> None:
    assessment = assess_delay(order(OrderStatus.IN_TRANSIT), shipment(), [], today=TODAY)

    assert not assessment.is_late
    assert "isn't late" in render_delay(assessment)
    assert assessment.compensation is None


def test_incident_explains_the_delay_gives_a_new_estimate_and_the_shipping_fee() -> None:
    late = shipment(promised=TODAY - timedelta(days=1))
    in_lockdown = order(OrderStatus.IN_TRANSIT, shipping_fee=Decimal("12"))

    assessment = assess_delay(in_lockdown, late, [incident()], today=TODAY)

    text = render_delay(assessment)
    assert assessment.days_late == 1
    assert "the Shanghai lockdown: Deliveries go to community pick-up points." in text
    assert "New estimated delivery: Mon 23 Nov" in text  # recovery + 1 day
    assert "your shipping fee of CNY 12.00 back" in text


def test_a_short_delay_without_a_fee_says_when_compensation_starts() -> None:
    late = shipment(promised=TODAY - timedelta(days=1))

    text = render_delay(assess_delay(order(OrderStatus.IN_TRANSIT), late, [], today=TODAY))

    assert "voucher is added automatically once a delivery is more than 2 days late" in text


def test_carrier_incident_covers_orders_in_other_regions() -> None:
    outage = incident(regions=(), carriers=("SF Express",), title="the SF Express outage")
    late = shipment(promised=TODAY - timedelta(days=2))

    assessment = assess_delay(order(OrderStatus.IN_TRANSIT), late, [outage], today=TODAY)

    assert assessment.incident == outage


def test_long_delay_without_incident_gets_a_voucher_and_the_carriers_reason() -> None:
    late = shipment(
        promised=TODAY - timedelta(days=3),
        estimated=TODAY + timedelta(days=1),
        last_event="Held at hub: capacity shortage",
    )

    assessment = assess_delay(order(OrderStatus.IN_TRANSIT), late, [], today=TODAY)

    text = render_delay(assessment)
    assert "is late: it was promised for Tue 17 Nov, 3 days ago" in text
    assert "The carrier reports: Held at hub: capacity shortage (Wuhan hub)." in text
    assert "a CNY 10.00 voucher" in text


def test_delivered_order_is_not_late_even_if_past_the_promise() -> None:
    delivered = shipment(promised=TODAY - timedelta(days=5), delivered_at=NOW - timedelta(days=1))

    assessment = assess_delay(order(OrderStatus.DELIVERED), delivered, [], today=TODAY)

    assert not assessment.is_late
    assert "it was delivered on Thu 19 Nov" in render_delay(assessment)
