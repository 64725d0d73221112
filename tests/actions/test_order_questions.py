"""Follow-ups about the order in hand, the "which order?" buttons and the incident said first."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.knowledge import ActionAnswerFromKnowledge
from actions.order_questions import ActionAnswerAboutOrder, ActionAskOrderNumber
from actions.order_status import ActionShowOrderStatus, ValidateOrderLookupForm
from actions.refunds import ActionRequestRefund
from actions.returns import ActionOfferReturn
from bot.domain.incidents import Incident, IncidentKind
from bot.domain.orders import Order, OrderStatus
from tests.actions.conftest import (
    ORDER,
    SHIPMENT,
    TODAY,
    InMemoryShop,
    form_tracker,
    lookup_over,
    responses,
    slot_values,
)

NOW = datetime(2026, 11, 20, 15, 0)
LATE = replace(SHIPMENT, promised_date=TODAY - timedelta(days=3))
OUTAGE = Incident(
    id=4,
    kind=IncidentKind.CARRIER_OUTAGE,
    title="the SF Express outage",
    started_at=NOW - timedelta(days=2),
    customer_note="SF Express parcels are held at their hubs until Monday.",
    carriers=("SF Express",),
)


class NoSearch:
    """The knowledge base must not be consulted for a question about the order in hand."""

    def search(self, query: str, *, top_k: int = 3) -> list[Any]:
        raise AssertionError(f"searched the knowledge base for {query!r}")


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> InMemoryShop:
    """A late order with a fee, served to every action through `services`."""
    shop = InMemoryShop(order=replace(ORDER, shipping_fee=Decimal("12")), shipment=LATE)
    monkeypatch.setattr(services, "order_desk", lambda: lookup_over(shop))
    monkeypatch.setattr(services, "now", lambda: NOW)
    monkeypatch.setattr(services, "today", lambda: TODAY)
    return shop


def _tracker(
    text: str,
    *,
    intent: str = "ask_policy",
    slots: dict[str, Any] | None = None,
    before: tuple[str, ...] = (),
) -> Tracker:
    """After the bot ran the `before` actions, the customer says `text`."""
    events: list[dict[str, Any]] = [{"event": "action", "name": name} for name in before]
    events += [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
    ]
    all_slots = {
        "order_number": "100245",
        "verified_orders": ["100245"],
        "verification_failures": 0.0,
        "lookup_unavailable": False,
        **(slots or {}),
    }
    latest = {"text": text, "intent": {"name": intent}}
    return Tracker("c1", all_slots, latest, events, False, None, {}, "action_listen")


async def test_compensation_for_the_wait_is_about_the_order_in_hand(shop, domain):
    dispatcher = CollectingDispatcher()
    tracker = _tracker("ok and can i get compensation for the wait?")

    events = await ActionAnswerFromKnowledge(NoSearch()).run(dispatcher, tracker, domain)

    [answer] = responses(dispatcher)
    assert answer.startswith("Order 100245 is 3 days late, so under our delay policy you get")
    assert "Ask in this chat with your order number" not in answer
    assert slot_values(events)["order_task"] == "compensation"


async def test_a_policy_question_without_a_proved_order_still_reads_the_knowledge_base(domain):
    searched = []

    class Remember(NoSearch):
        def search(self, query: str, *, top_k: int = 3) -> list[Any]:
            searched.append(query)
            return []

    tracker = _tracker("can i get compensation for the wait?", slots={"verified_orders": []})

    await ActionAnswerFromKnowledge(Remember()).run(CollectingDispatcher(), tracker, domain)

    assert searched == ["can i get compensation for the wait?"]


async def test_with_two_orders_proved_and_no_order_just_discussed_the_bot_asks_which(shop, domain):
    dispatcher = CollectingDispatcher()
    both = {"verified_orders": ["100245", "100311"]}
    tracker = _tracker("what about the shipping fee", slots=both, before=("utter_greet",))

    events = await ActionAnswerFromKnowledge(NoSearch()).run(dispatcher, tracker, domain)

    [question] = dispatcher.messages
    assert question["text"] == "Which order do you mean?"
    assert [b["payload"] for b in question["buttons"]] == ["100245", "100311"]
    assert slot_values(events) == {"order_task": "shipping_fee", "order_number": None}


async def test_right_after_an_answer_about_one_order_it_means_that_order(shop, domain):
    dispatcher = CollectingDispatcher()
    both = {"verified_orders": ["100245", "100311"]}
    tracker = _tracker("what about the shipping fee", slots=both, before=("action_explain_delay",))

    await ActionAnswerFromKnowledge(NoSearch()).run(dispatcher, tracker, domain)

    [answer] = responses(dispatcher)
    assert answer.startswith("You paid CNY 12.00 shipping on order 100245.")


async def test_a_refund_of_the_shipping_fee_is_the_delay_policy_not_a_return(shop, domain):
    dispatcher = CollectingDispatcher()
    tracker = _tracker("what about a refund of the shipping fee", intent="refund_request")

    await ActionRequestRefund(lookup_over(shop)).run(dispatcher, tracker, domain)

    [answer] = responses(dispatcher)
    assert "You paid CNY 12.00 shipping on order 100245." in answer
    assert "return" not in answer.lower()
    assert shop.refunds == []


async def test_the_carrier_follow_up_uses_the_task_the_lookup_kept(shop, domain):
    dispatcher = CollectingDispatcher()
    tracker = _tracker("100245", intent="inform", slots={"order_task": "carrier"})

    await ActionAnswerAboutOrder(lookup_over(shop)).run(dispatcher, tracker, domain)

    assert "with SF Express, tracking number SF1234567890123" in responses(dispatcher)[0]


async def test_an_unverified_order_gets_no_follow_up_answer(shop, domain):
    dispatcher = CollectingDispatcher()
    stranger = {"order_number": "100245", "verified_orders": [], "order_task": "compensation"}

    await ActionAnswerAboutOrder(lookup_over(shop)).run(
        dispatcher, _tracker("compensation?", slots=stranger), domain
    )

    assert responses(dispatcher) == ["utter_verification_failed"]


async def test_a_new_question_naming_no_order_among_several_asks_which(domain):
    tracker = form_tracker(
        slots={"order_number": "100311", "verified_orders": ["100245", "100311"]},
        said={"text": "is it late?", "intent": {"name": "delivery_delay"}},
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateOrderLookupForm(lookup_over(InMemoryShop())).run(
        dispatcher, tracker, domain
    )
    await ActionAskOrderNumber().run(dispatcher, tracker, domain)

    assert slot_values(events)["order_number"] is None
    assert [b["title"] for b in dispatcher.messages[-1]["buttons"]] == [
        "Order 100245",
        "Order 100311",
    ]


async def test_an_order_named_in_the_message_is_not_asked_about_again(domain):
    tracker = form_tracker(
        slots={"order_number": "100245", "verified_orders": ["100245", "100311"]},
        said={"text": "is 100245 late?", "intent": {"name": "delivery_delay"}},
    )

    events = await ValidateOrderLookupForm(lookup_over(InMemoryShop())).run(
        CollectingDispatcher(), tracker, domain
    )

    assert slot_values(events).get("order_number", "100245") == "100245"


def _affected(order: Order) -> InMemoryShop:
    return InMemoryShop(order=order, shipment=LATE, incidents=(OUTAGE,))


async def test_the_status_answer_leads_with_the_incident_once_per_conversation(monkeypatch, domain):
    monkeypatch.setattr(services, "now", lambda: NOW)
    monkeypatch.setattr(services, "today", lambda: TODAY)
    action = ActionShowOrderStatus(lookup_over(_affected(ORDER)))
    first = CollectingDispatcher()

    events = await action.run(first, _tracker("where is it", intent="order_status"), domain)

    [answer] = responses(first)  # one message: on Telegram a second would come later
    heads_up, status = answer.split("\n\n", 1)
    assert heads_up.startswith("First, a heads-up: order 100245 is affected by the SF Express")
    assert "held at their hubs until Monday" in heads_up
    assert "CNY 10.00 voucher" in heads_up
    assert status.startswith("Order 100245 is on its way.")
    told = slot_values(events)["incidents_told"]
    assert told == [4]

    again = CollectingDispatcher()
    told_slots = {"incidents_told": told}
    await action.run(again, _tracker("and now?", intent="order_status", slots=told_slots), domain)
    [only] = responses(again)
    assert only.startswith("Order 100245 is on its way.")


async def test_until_when_can_i_return_it_gets_the_window_not_an_offer(domain, monkeypatch):
    monkeypatch.setattr(services, "now", lambda: NOW)
    delivered = replace(SHIPMENT, delivered_at=NOW - timedelta(days=2))
    shop = InMemoryShop(order=replace(ORDER, status=OrderStatus.DELIVERED), shipment=delivered)
    dispatcher = CollectingDispatcher()
    tracker = _tracker("until when can i return it?", intent="return_request")

    events = await ActionOfferReturn(lookup_over(shop)).run(dispatcher, tracker, domain)

    [answer] = responses(dispatcher)
    assert "without giving a reason until Wed 25 Nov (5 days left)" in answer
    assert "awaiting_confirmation" not in slot_values(events)
    assert shop.returns == []
