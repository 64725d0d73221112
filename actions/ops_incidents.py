"""The ops staff's questions: which incidents are active, the state of one, the queue.

A reference that fits several incidents ("the outage" while two are active) is answered
with a choice of buttons, never a guess.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.ops_access import OpsAction
from actions.signals import StaffMember
from bot.domain.incident_text import find_incidents
from bot.domain.incidents import Incident
from bot.ops import texts

MAX_CHOICES = 6


def choice_buttons(incidents: list[Incident], *, asking: str) -> list[dict[str, str]]:
    """`asking` is what the button says back, e.g. "status of incident" -> "... 3"."""
    return [
        {"title": f"#{incident.id} {incident.title}"[:60], "payload": f"{asking} {incident.id}"}
        for incident in incidents[:MAX_CHOICES]
    ]


class ActionListIncidents(OpsAction):
    def name(self) -> str:
        return "action_list_incidents"

    async def act(
        self, member: StaffMember, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        now = services.now()
        active = await self.desk.active(now=now)
        figures = [await self.desk.figures(incident, now=now) for incident in active]
        dispatcher.utter_message(
            text=texts.incident_list(figures, now=now),
            buttons=choice_buttons(active, asking="status of incident"),
        )
        return []


class ActionIncidentStatus(OpsAction):
    def name(self) -> str:
        return "action_incident_status"

    async def act(
        self, member: StaffMember, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        now = services.now()
        every = await self.desk.every()
        active = [incident for incident in every if incident.is_active(now)]
        matches = find_incidents(str(tracker.latest_message.get("text") or ""), every)
        # Words that fit an active incident and an old one mean the active one.
        current = [incident for incident in matches if incident.is_active(now)]
        candidates = current or matches or active
        if len(candidates) != 1:
            if not candidates:
                dispatcher.utter_message(text="No incident matches that, and none is active.")
            else:
                dispatcher.utter_message(
                    text="Which incident do you mean?",
                    buttons=choice_buttons(candidates, asking="status of incident"),
                )
            return []
        report = await self.desk.report(candidates[0], now=now)
        dispatcher.utter_message(text=texts.incident_report(report, now=now))
        return []


class ActionQueueStatus(OpsAction):
    def name(self) -> str:
        return "action_queue_status"

    async def act(
        self, member: StaffMember, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        now = services.now()
        queue, recent = await self.desk.queue(now=now)
        dispatcher.utter_message(text=texts.queue_report(queue, handoffs_last_hour=recent, now=now))
        return []
