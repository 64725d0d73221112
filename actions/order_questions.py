"""Follow-ups about the order in hand: compensation, the shipping fee, the carrier, the
return window; and which order, with buttons, when several are proved and "it" is unclear.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.verified import VerifiedOrderAction, order_is_ambiguous, verified_orders
from bot.domain.order_desk import OrderDesk, OrderFile
from bot.domain.order_questions import (
    OrderQuestion,
    answer_carrier,
    answer_compensation,
    answer_return_window,
    answer_shipping_fee,
)
from bot.domain.returns import assess_return

WHICH_ORDER = "Which order do you mean?"


async def answer_order_question(
    question: OrderQuestion,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: DomainDict,
) -> list[EventType]:
    """Answer about the order in hand, or ask which one first when several are proved.

    `order_task` remembers the question, so the number the customer picks is answered
    by the lookup's "once verified" rule for it.
    """
    events: list[EventType] = [SlotSet("order_task", question.value)]
    if order_is_ambiguous(tracker):
        ask_which_order(dispatcher, tracker)
        return [*events, SlotSet("order_number", None)]
    answer = ActionAnswerAboutOrder(question=question)
    return [*events, *await answer.run(dispatcher, tracker, domain)]


def ask_which_order(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """One button per proved order; pressing one sends its number, which the lookup reads."""
    buttons = [{"title": f"Order {n}", "payload": n} for n in verified_orders(tracker)]
    dispatcher.utter_message(text=WHICH_ORDER, buttons=buttons)


class ActionAnswerAboutOrder(VerifiedOrderAction):
    """Answers the follow-up in `order_task` (or the one given) from the order's own facts."""

    def __init__(self, desk: OrderDesk | None = None, question: OrderQuestion | None = None):
        super().__init__(desk)
        self._question = question

    def name(self) -> str:
        return "action_answer_about_order"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        task = self._question or str(tracker.get_slot("order_task") or "")
        if task == OrderQuestion.CARRIER:
            text = answer_carrier(file.order.number, file.order.status, file.shipment)
        elif task == OrderQuestion.RETURN_WINDOW:
            eligibility = assess_return(file.order, file.shipment, now=services.now())
            text = answer_return_window(eligibility, file.order, now=services.now())
        else:
            assessment = await self.desk.delay(file, now=services.now())
            if task == OrderQuestion.SHIPPING_FEE:
                text = answer_shipping_fee(assessment)
            else:
                text = answer_compensation(assessment)
        dispatcher.utter_message(text=text)
        return []


class ActionAskOrderNumber(Action):
    """The lookup's question for the order number: buttons when several are already proved."""

    def name(self) -> str:
        return "action_ask_order_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if len(verified_orders(tracker)) >= 2:
            ask_which_order(dispatcher, tracker)
        elif intent == "other_order":
            dispatcher.utter_message(response="utter_ask_other_order_number")
        else:
            dispatcher.utter_message(response="utter_ask_order_number")
        return []
