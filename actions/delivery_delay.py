"""The delay skill: is it really late, why, the new estimate, and what the policy gives."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.verified import VerifiedOrderAction
from bot.domain.delays import render_delay
from bot.domain.order_desk import OrderFile


class ActionExplainDelay(VerifiedOrderAction):
    def name(self) -> str:
        return "action_explain_delay"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        now = services.now()
        assessment = await self.desk.delay(file, now=now)
        dispatcher.utter_message(text=render_delay(assessment))
        if assessment.incident is not None:
            await services.note_incident_contact(
                incident_id=assessment.incident.id, conversation_id=tracker.sender_id, at=now
            )
        return []
