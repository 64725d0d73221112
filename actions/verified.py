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
from bot.domain.order_desk import OrderDesk, OrderFile
from bot.domain.verification import find_order_number, is_locked


def verified_orders(tracker: Tracker) -> list[str]:
    return list(tracker.get_slot("verified_orders") or [])


def current_order_number(tracker: Tracker) -> str | None:
    return find_order_number(str(tracker.get_slot("order_number") or ""))


def verified_order_number(tracker: Tracker) -> str | None:
    number = current_order_number(tracker)
    return number if number in verified_orders(tracker) else None


class VerifiedOrderAction(Action, ABC):
    """Base of every skill that answers about one verified order after the lookup form.

    It owns the gate (verified, not locked out, backend reachable) and the honest
    replies when the backend fails or the order changed meanwhile, so each skill
    implements only `act`.
    """

    # Skills about returns and refunds also need the order's existing returns and refunds.
    needs_aftersales = False

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
            events = await self.act(file, dispatcher, tracker)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            events = []
        except OrderConflict:
            dispatcher.utter_message(response="utter_order_changed_meanwhile")
            events = []
        return [SlotSet("order_contact", None), *events]
