"""The order-status skill: get the order number, verify ownership, then answer.

Verification happens in exactly one place, `_verify`, called from the form's
validation. The answer action re-checks that the order was verified, so no
path through the dialogue can show an order that was not.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from bot.backends.protocols import BackendUnavailable
from bot.domain.order_lookup import OrderLookup
from bot.domain.order_status import render_status_report
from bot.domain.verification import (
    ContactProof,
    find_order_number,
    is_locked,
    parse_contact_proof,
)

SlotValues = dict[str, Any]


def _failures(tracker: Tracker) -> int:
    return int(tracker.get_slot("verification_failures") or 0)


def _verified(tracker: Tracker) -> list[str]:
    return list(tracker.get_slot("verified_orders") or [])


def _order_number(tracker: Tracker) -> str | None:
    return find_order_number(str(tracker.get_slot("order_number") or ""))


class ValidateOrderLookupForm(FormValidationAction):
    """Asks for what is missing and verifies the customer's proof against the order."""

    def __init__(self, lookup: OrderLookup | None = None) -> None:
        self._lookup = lookup

    def name(self) -> str:
        return "validate_order_lookup_form"

    @property
    def lookup(self) -> OrderLookup:
        return self._lookup or services.order_lookup()

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Nothing more to ask once locked out or the backend is down; no proof twice."""
        if is_locked(_failures(tracker)) or tracker.get_slot("lookup_unavailable"):
            return []
        if _order_number(tracker) in _verified(tracker):
            return ["order_number"]
        return domain_slots

    async def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        number = find_order_number(str(value or ""))
        if number is None:
            dispatcher.utter_message(response="utter_order_number_format")
            return {"order_number": None}
        if number in _verified(tracker) or "order_contact" in tracker.slots_to_validate():
            return {"order_number": number}
        proof = parse_contact_proof(str(tracker.get_slot("order_contact") or ""))
        if proof is None:
            return {"order_number": number, "order_contact": None}
        return await self._verify(number, proof, dispatcher, tracker)

    async def validate_order_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        proof = parse_contact_proof(str(value or ""))
        if proof is None:
            dispatcher.utter_message(response="utter_contact_format")
            return {"order_contact": None}
        number = _order_number(tracker)
        if number is None:
            return {"order_contact": proof.value}
        return await self._verify(number, proof, dispatcher, tracker)

    async def _verify(
        self, number: str, proof: ContactProof, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> SlotValues:
        """A wrong number and a wrong proof get the same reply and count the same."""
        try:
            verified = await self.lookup.verify(number, proof)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"order_contact": None, "lookup_unavailable": True}
        if verified:
            return {
                "order_number": number,
                "order_contact": proof.value,
                "verified_orders": sorted({*_verified(tracker), number}),
            }
        failures = _failures(tracker) + 1
        if not is_locked(failures):
            dispatcher.utter_message(response="utter_verification_failed")
        return {"order_number": None, "order_contact": None, "verification_failures": failures}


class ActionShowOrderStatus(Action):
    """Answers from the order and logistics systems, for verified orders only."""

    def __init__(self, lookup: OrderLookup | None = None) -> None:
        self._lookup = lookup

    def name(self) -> str:
        return "action_show_order_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("lookup_unavailable"):
            return [SlotSet("lookup_unavailable", False)]
        if is_locked(_failures(tracker)):
            dispatcher.utter_message(
                text="I can't check orders in this chat after several details that didn't "
                f"match. Our support team can help: {services.support_contact()}."
            )
            return []
        number = _order_number(tracker)
        if number is None or number not in _verified(tracker):
            dispatcher.utter_message(response="utter_verification_failed")
            return [SlotSet("order_contact", None)]
        lookup = self._lookup or services.order_lookup()
        try:
            report = await lookup.status_report(number, today=services.today())
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        if report is None:  # verified a moment ago, gone now: say so plainly
            dispatcher.utter_message(response="utter_verification_failed")
            return []
        dispatcher.utter_message(text=render_status_report(report))
        return [SlotSet("order_contact", None)]
