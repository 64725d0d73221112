"""The delay skill: is it really late, why, the new estimate, and what the policy gives."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.verified import VerifiedOrderAction, incidents_told
from bot.domain.delays import render_delay
from bot.domain.order_desk import OrderFile


class ActionExplainDelay(VerifiedOrderAction):
    leads_with_incident = False  # the incident is the cause this answer explains

    def name(self) -> str:
        return "action_explain_delay"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        now = services.now()
        assessment = await self.desk.delay(file, now=now)
        dispatcher.utter_message(text=render_delay(assessment))
        incident = assessment.incident
        if incident is None:
            return []
        await services.note_incident_contact(
            incident_id=incident.id, conversation_id=tracker.sender_id, at=now
        )
        told = incidents_told(tracker)
        return [] if incident.id in told else [SlotSet("incidents_told", [*told, incident.id])]
