"""'No wait, I meant the other order': the order in hand changes, the question stays."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.corrections import ActionSwitchOrder
from tests.actions.conftest import responses, slot_values


def _tracker(**slots: Any) -> Tracker:
    latest = {"text": "no wait, I meant the other order", "intent": {"name": "other_order"}}
    return Tracker("c1", slots, latest, [], False, None, {}, "action_listen")


async def test_with_one_other_proved_order_it_becomes_the_order_in_hand(domain):
    dispatcher = CollectingDispatcher()
    tracker = _tracker(order_number="100311", verified_orders=["100245", "100311"])

    events = await ActionSwitchOrder().run(dispatcher, tracker, domain)

    assert slot_values(events) == {"order_number": "100245"}
    assert responses(dispatcher) == ["Sure, here's order 100245."]


async def test_with_no_other_order_the_number_is_cleared_so_the_lookup_asks(domain):
    dispatcher = CollectingDispatcher()

    events = await ActionSwitchOrder().run(
        dispatcher, _tracker(order_number="100245", verified_orders=["100245"]), domain
    )

    assert slot_values(events) == {"order_number": None, "requested_slot": None}
    assert responses(dispatcher) == []


async def test_a_change_on_offer_is_dropped_before_switching(domain):
    dispatcher = CollectingDispatcher()
    offered = {"kind": "cancel", "order_number": "100311"}
    tracker = _tracker(
        order_number="100311",
        verified_orders=["100245", "100311"],
        awaiting_confirmation=True,
        pending_change=offered,
    )

    events = await ActionSwitchOrder().run(dispatcher, tracker, domain)

    slots = slot_values(events)
    assert slots["pending_change"] is None and slots["awaiting_confirmation"] is False
    assert slots["order_number"] == "100245"
    assert responses(dispatcher)[0] == "No problem, I've left order 100311 as it is."
