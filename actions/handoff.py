"""Handing a conversation to a person: why, what the agent needs to know, and the honest wait.

The action pauses the bot for the conversation and queues it; from then on the
gateway routes the customer's messages to the agents. In a surge, a customer whose
verified order is caught by an active incident first gets what the shop knows
(the incident's note and new estimate), because that is what most of them need;
only those who still want a person are queued.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.signals import staff_member
from actions.verified import verified_orders
from bot.backends.protocols import BackendUnavailable
from bot.domain.delays import DelayAssessment, render_delay
from bot.domain.handoff import HandoffReason, trigger_enabled
from bot.domain.order_desk import OrderDesk, OrderFile
from bot.domain.waiting import render_wait
from bot.handoff.desk import HandoffDesk, HandoffRequest
from bot.handoff.texts import CHOICE_BUTTONS, STILL_NEED_PERSON, THAT_HELPS

REASON_BY_INTENT = {
    "human_agent": HandoffReason.CUSTOMER_ASKED,
    "complain": HandoffReason.COMPLAINT,
}
REASON_DETAIL = {
    HandoffReason.CUSTOMER_ASKED: "asked for a person",
    HandoffReason.COMPLAINT: "unhappy customer",
    HandoffReason.REPEATED_FALLBACK: "the bot did not understand twice in a row",
    HandoffReason.POLICY: "needs a person by policy",
}
# Slots an agent has no use for, or that hold the customer's proof of ownership.
HIDDEN_SLOTS = {"order_contact", "requested_slot", "session_started_metadata"}


def handoff_reason(tracker: Tracker) -> tuple[HandoffReason, str]:
    """A slot set by the skill that asked for the handoff wins over the last intent."""
    slot = tracker.get_slot("handoff_reason")
    if slot:
        reason = HandoffReason(str(slot))
        return reason, str(tracker.get_slot("handoff_detail") or REASON_DETAIL[reason])
    intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
    reason = REASON_BY_INTENT.get(intent, HandoffReason.CUSTOMER_ASKED)
    return reason, REASON_DETAIL[reason]


def conversation_summary(tracker: Tracker, file: OrderFile | None, detail: str) -> dict[str, Any]:
    intents = [
        str(event["parse_data"]["intent"]["name"])
        for event in tracker.events
        if event.get("event") == "user"
        and (event.get("parse_data") or {}).get("intent", {}).get("name")
    ]
    slots = {
        name: value
        for name, value in tracker.current_slot_values().items()
        if value not in (None, [], "", False, 0.0) and name not in HIDDEN_SLOTS
    }
    return {
        "verified_orders": verified_orders(tracker),
        "customer_name": file.order.customer.name if file else None,
        "intents": intents,
        "slots": slots,
        "reason_detail": detail,
    }


def _opening(reason: HandoffReason) -> str:
    if reason is HandoffReason.COMPLAINT:
        return "I'm sorry, that's not the experience we want you to have. "
    return ""


class ActionHandOff(Action):
    def __init__(self, desk: HandoffDesk | None = None, orders: OrderDesk | None = None) -> None:
        self._desk = desk
        self._orders = orders

    def name(self) -> str:
        return "action_hand_off"

    @property
    def desk(self) -> HandoffDesk:
        return self._desk or services.handoff_desk()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reason, detail = handoff_reason(tracker)
        cleared: list[EventType] = [
            SlotSet("handoff_reason", None),
            SlotSet("handoff_detail", None),
        ]
        if staff_member(tracker) is not None:
            # Staff would take a customer's place in the queue, and count as its load.
            dispatcher.utter_message(
                text="The queue is for customers, so I won't put this chat in it. For an "
                "order, open the customer's conversation in the console; for incidents and "
                "the queue, ask me here."
            )
            return cleared
        if not trigger_enabled(self.desk.policy, reason):
            dispatcher.utter_message(
                text=f"{_opening(reason)}Our support team can help you directly: "
                f"{services.support_contact()}. Meanwhile I can check your orders, returns and "
                "refunds right here."
            )
            return cleared
        file, delay, incidents = await self._order_facts(tracker)
        surge = await asyncio.to_thread(self.desk.surge, active_incidents=incidents)
        already_told = tracker.get_slot("handoff_incident_offered")
        if surge.active and delay is not None and delay.incident is not None and not already_told:
            dispatcher.utter_message(
                text=f"Many customers are contacting us right now. Here's what we know about "
                f"your order first:\n{render_delay(delay)}\n\nDoes that answer it, or do you "
                "still want to talk to a person?",
                buttons=[
                    {"title": STILL_NEED_PERSON, "payload": STILL_NEED_PERSON},
                    {"title": THAT_HELPS, "payload": THAT_HELPS},
                ],
            )
            return [*cleared, SlotSet("handoff_incident_offered", True)]
        summary = conversation_summary(tracker, file, detail)
        if delay is not None and delay.incident is not None:
            summary["incident_id"] = delay.incident.id  # ties the handoff to it in the reports
        request = HandoffRequest(
            conversation_id=tracker.sender_id,
            reason=reason,
            reason_detail=detail,
            summary=summary,
            verified=file is not None,
            affected_by_incident=delay is not None and delay.incident is not None,
            order_value=file.order.total if file else None,
        )
        try:
            queued = await asyncio.to_thread(self.desk.request, request, active_incidents=incidents)
        except LookupError:
            dispatcher.utter_message(
                text=f"{_opening(reason)}I can't reach our agents from here; our support team "
                f"is at {services.support_contact()}."
            )
            return cleared
        announcement = queued.announcement
        choices = announcement.too_long or announcement.no_agents
        dispatcher.utter_message(
            text=f"{_opening(reason)}I'm passing you to a person from our team. "
            f"{render_wait(announcement)}"
            + (" What would you like to do?" if choices else " You can keep writing here."),
            buttons=list(CHOICE_BUTTONS) if choices else [],
        )
        return [*cleared, SlotSet("handoff_incident_offered", None), ConversationPaused()]

    async def _order_facts(
        self, tracker: Tracker
    ) -> tuple[OrderFile | None, DelayAssessment | None, int]:
        """The last verified order, its delay (with the incident covering it), and how many
        incidents are active; a backend failure leaves them unknown, never blocks the queue."""
        orders = verified_orders(tracker)
        desk = self._orders or services.order_desk()
        try:
            incidents = len(await desk.active_incidents(at=services.now()))
            if not orders:
                return None, None, incidents
            file = await desk.order_file(orders[-1])
            if file is None:
                return None, None, incidents
            return file, await desk.delay(file, now=services.now()), incidents
        except BackendUnavailable:
            return None, None, 0
