"""The issue's examples, as they were tried: follow-ups use the order in hand, a carrier
outage is said first in every answer about an affected order, and a correction of the
order switches it rather than reading as "no"."""

from __future__ import annotations

from typing import Any

from tests.conversations.conftest import Chat, OrderPicker, verify


def test_compensation_and_the_shipping_fee_of_a_late_order_are_answered_for_that_order(
    chat: Chat, orders: OrderPicker
) -> None:
    late = orders.take(
        lambda o: o["is_late"] and not o["incident_ids"] and float(o["shipping_fee"]) > 0
    )
    number = late["order_number"]
    answer = verify(chat, "where is my order", late)
    assert "so it is running late" in answer

    compensation = chat.say("ok and can i get compensation for the wait?")
    assert f"Order {number} is " in compensation and " late" in compensation
    assert "Ask in this chat with your order number" not in compensation
    assert "confirm it's yours" not in compensation

    fee = chat.say("what about a refund of the shipping fee")
    assert fee.startswith(
        f"You paid CNY {float(late['shipping_fee']):.2f} shipping on order {number}."
    )
    assert "return" not in fee.lower()


def test_a_status_answer_for_an_order_in_an_outage_leads_with_it_once(
    chat: Chat, orders: OrderPicker
) -> None:
    caught = orders.take(lambda o: bool(o["incident_ids"]) and o["status"] == "in_transit")

    status = verify(chat, "where is order", caught)

    assert status.startswith(f"First, a heads-up: order {caught['order_number']} is affected by")
    assert "delay policy" in status or "shipping fee back" in status
    _, _, answer = status.partition(f"Order {caught['order_number']} ")
    assert answer and "tracking number" in answer
    again = chat.say("and can i cancel it?")
    assert "heads-up" not in again


def test_i_meant_the_other_order_switches_to_it_and_answers_again(
    chat: Chat, orders: OrderPicker
) -> None:
    first = orders.take(lambda o: o["status"] == "in_transit" and bool(o["tracking_number"]))
    second = orders.take(
        lambda o: o["status"] == "in_transit" and bool(o["tracking_number"])
        and o["email"] != first["email"]
    )  # fmt: skip
    verify(chat, "where is order", first)
    assert str(second["tracking_number"]) in verify(chat, "and order", second)

    switched = chat.say("no wait, I meant the other order")

    assert str(first["tracking_number"]) in switched
    assert "stopped" not in switched and "didn't quite understand" not in switched


def test_an_ambiguous_question_with_two_orders_gets_a_button_per_order(
    chat: Chat, orders: OrderPicker
) -> None:
    pair = [
        orders.take(lambda o: o["status"] == "in_transit" and not o["is_late"]) for _ in range(2)
    ]
    for order in pair:
        verify(chat, "where is order", order)
    chat.say("thanks")

    response = chat.send("is it late?")

    messages: list[dict[str, Any]] = response.json()["messages"]
    asked = messages[-1]
    assert asked["text"] == "Which order do you mean?"
    payloads = [button["payload"] for button in asked["buttons"]]
    assert payloads == sorted(o["order_number"] for o in pair)
    picked = chat.say(payloads[0])
    assert f"Order {payloads[0]} isn't late" in picked
