"""The one gate every order skill passes: only orders verified in this conversation.

Slots can be set by NLU (an order number in a message), so no skill trusts
`order_number` alone: it must also be in `verified_orders`, which only the
verification in `actions/order_status.py` writes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from bot.backends.protocols import BackendUnavailable, OrderConflict
from bot.domain.delays import incident_heads_up
from bot.domain.order_desk import OrderDesk, OrderFile
from bot.domain.orders import AWAITING_DELIVERY
from bot.domain.verification import find_order_number, is_locked

# Every action that answers about one verified order: after one of these, "it" is that order.
ORDER_ANSWERS = frozenset({
    "action_show_order_status", "action_explain_delay", "action_offer_return",
    "action_request_refund", "action_show_refund_status", "action_offer_cancellation",
    "action_check_address_change", "action_check_quality_claim", "action_answer_about_order",
    "action_apply_pending_change",
})  # fmt: skip


def verified_orders(tracker: Tracker) -> list[str]:
    return list(tracker.get_slot("verified_orders") or [])


def current_order_number(tracker: Tracker) -> str | None:
    return find_order_number(str(tracker.get_slot("order_number") or ""))


def verified_order_number(tracker: Tracker) -> str | None:
    number = current_order_number(tracker)
    return number if number in verified_orders(tracker) else None


def last_answer_was_about_an_order(tracker: Tracker) -> bool:
    """Whether the bot's last answer before this message was about the order in hand."""
    seen_message = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_message:
                return False
            seen_message = True
        elif seen_message and event.get("event") == "action":
            name = str(event.get("name") or "")
            if name in ORDER_ANSWERS:
                return True
            if name not in ("action_listen", "order_lookup_form", "validate_order_lookup_form"):
                return False
    return False


def order_is_ambiguous(tracker: Tracker) -> bool:
    """Several orders proved, none named in this message, and the last answer was not about
    one: "it" could be any of them, so the bot asks which rather than guess."""
    if len(verified_orders(tracker)) < 2:
        return False
    if find_order_number(str(tracker.latest_message.get("text") or "")):
        return False
    return not last_answer_was_about_an_order(tracker)


def incidents_told(tracker: Tracker) -> list[int]:
    return [int(i) for i in tracker.get_slot("incidents_told") or []]


class VerifiedOrderAction(Action, ABC):
    """Base of every skill that answers about one verified order after the lookup form.

    It owns the gate (verified, not locked out, backend reachable) and the honest
    replies when the backend fails or the order changed meanwhile, so each skill
    implements only `act`.
    """

    # Skills about returns and refunds also need the order's existing returns and refunds.
    needs_aftersales = False
    # The delay skill explains the incident as the cause itself; every other skill leads
    # with it, once per conversation, when an active incident holds the order up.
    leads_with_incident = True

    def __init__(self, desk: OrderDesk | None = None) -> None:
        self._desk = desk

    @property
    def desk(self) -> OrderDesk:
        return self._desk or services.order_desk()

    def order_number_for(self, tracker: Tracker) -> str | None:
        """The verified order this action is about (None: not verified)."""
        return verified_order_number(tracker)

    @abstractmethod
    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """Answer about the verified order in `file`."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("lookup_unavailable"):
            return [SlotSet("lookup_unavailable", False)]  # the form already said so
        if is_locked(int(tracker.get_slot("verification_failures") or 0)):
            dispatcher.utter_message(
                text="I can't check orders in this chat after several details that didn't "
                f"match. Our support team can help: {services.support_contact()}."
            )
            return []
        number = self.order_number_for(tracker)
        if number is None:
            dispatcher.utter_message(response="utter_verification_failed")
            return [SlotSet("order_contact", None)]
        try:
            file = await self.desk.order_file(number, with_aftersales=self.needs_aftersales)
            if file is None:  # verified a moment ago, gone now: say so plainly
                dispatcher.utter_message(response="utter_verification_failed")
                return [SlotSet("order_contact", None)]
            heads_up: str | None = None
            events: list[EventType] = []
            if self.leads_with_incident:
                heads_up, events = await self._incident_first(file, tracker)
            answered_from = len(dispatcher.messages)
            events += await self.act(file, dispatcher, tracker)
            if heads_up:
                lead_with(dispatcher, heads_up, answered_from)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            events = []
        except OrderConflict:
            dispatcher.utter_message(response="utter_order_changed_meanwhile")
            events = []
        return [SlotSet("order_contact", None), *events]

    async def _incident_first(
        self, file: OrderFile, tracker: Tracker
    ) -> tuple[str | None, list[EventType]]:
        """The incident's note and compensation, the first time it matters to this order."""
        if file.order.status not in AWAITING_DELIVERY:
            return None, []
        now = services.now()
        assessment = await self.desk.delay(file, now=now)
        incident = assessment.incident
        if incident is None or incident.id in incidents_told(tracker):
            return None, []
        await services.note_incident_contact(
            incident_id=incident.id, conversation_id=tracker.sender_id, at=now
        )
        told = [*incidents_told(tracker), incident.id]
        return incident_heads_up(assessment), [SlotSet("incidents_told", told)]


def lead_with(dispatcher: CollectingDispatcher, text: str, start: int) -> None:
    """Put `text` at the head of the first answer sent from message `start` on, in the same
    message: on Telegram a second message would come a second later, after the answer."""
    for message in dispatcher.messages[start:]:
        if message.get("text") and not message.get("custom"):
            message["text"] = f"{text}\n\n{message['text']}"
            return
    dispatcher.utter_message(text=text)
    dispatcher.messages.insert(start, dispatcher.messages.pop())
