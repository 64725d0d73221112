"""Requests for a person and complaints: acknowledged honestly.

Shopdesk cannot hand a chat to an agent yet, so it never pretends to; it says
where a person can be reached and what it can still do here.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.verified import verified_orders


class ActionAcknowledgeHumanRequest(Action):
    def name(self) -> str:
        return "action_acknowledge_human_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            text="I understand you'd like to talk to a person. I can't pass this chat to an "
            f"agent, but our support team can help you directly: {services.support_contact()}. "
            "Meanwhile I can check your orders, returns and refunds right here."
        )
        return []


class ActionAcknowledgeComplaint(Action):
    def name(self) -> str:
        return "action_acknowledge_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        verified = verified_orders(tracker)
        offer = (
            f"If it's about order {verified[-1]}, tell me what went wrong and I'll look into it."
            if verified
            else "If it's about an order, give me the order number and I'll look into it now."
        )
        dispatcher.utter_message(
            text=f"I'm sorry, that's not the experience we want you to have. {offer} If you'd "
            f"rather talk to a person, our support team is at {services.support_contact()}."
        )
        return []
