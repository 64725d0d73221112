"""The return skill: check eligibility by policy, offer, and open the return on a yes."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.changes import offer_change
from actions.verified import VerifiedOrderAction
from bot.domain.order_desk import OrderFile
from bot.domain.order_questions import OrderQuestion, answer_return_window, order_question
from bot.domain.returns import assess_return, describe_return_offer, explain_return_refusal


class ActionOfferReturn(VerifiedOrderAction):
    def name(self) -> str:
        return "action_offer_return"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        number = file.order.number
        eligibility = assess_return(file.order, file.shipment, now=services.now())
        text = str(tracker.latest_message.get("text") or "")
        if order_question(text) is OrderQuestion.RETURN_WINDOW:  # "until when?", not "return it"
            dispatcher.utter_message(
                text=answer_return_window(eligibility, file.order, now=services.now())
            )
            return []
        if not eligibility.allowed:
            dispatcher.utter_message(text=explain_return_refusal(eligibility, file.order))
            return []
        return offer_change(
            dispatcher,
            tracker,
            text=describe_return_offer(eligibility),
            kind="return",
            order_number=number,
        )
