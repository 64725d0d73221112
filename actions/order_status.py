"""The order-status skill: get the order number, verify ownership, then answer.

Verification happens in exactly one place, `_verify`, called from the form's
validation. The answer action re-checks that the order was verified, so no
path through the dialogue can show an order that was not.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import services
from actions.signals import client_key, linked_customer_id, report_customer_verified
from actions.verified import (
    VerifiedOrderAction,
    current_order_number,
    order_is_ambiguous,
    verified_orders,
)
from bot.backends.protocols import BackendUnavailable
from bot.domain.order_desk import OrderFile
from bot.domain.order_lookup import OrderLookup
from bot.domain.order_status import build_status_report, render_status_report
from bot.domain.verification import (
    ContactProof,
    find_contact_proof,
    find_order_number,
    is_locked,
    parse_contact_proof,
)
from bot.security.proof_guard import ProofGuard, ProofRefusal, ProofTicket

SlotValues = dict[str, Any]
# The intents that start an order task (domain.yml's `order_task` mappings).
ORDER_TASK_INTENTS = frozenset({
    "order_status", "delivery_delay", "return_request", "refund_request", "refund_status",
    "cancel_order", "change_address", "damaged_item",
})  # fmt: skip


def refusal_text(refusal: ProofRefusal, *, minutes: int, contact: str) -> str:
    """The same words for an order that exists and one that does not: every number is
    locked alike after failures, so the lock tells nothing about the order."""
    if refusal.scope == "order":
        reason = "too many details that didn't match have been tried for that order"
    else:
        reason = "too many details that didn't match have been tried from here"
    return (
        f"For your security I can't check that order right now: {reason}. Please try again "
        f"in about {minutes} minutes, or ask me for a person, or contact our support team: "
        f"{contact}."
    )


def _failures(tracker: Tracker) -> int:
    return int(tracker.get_slot("verification_failures") or 0)


class ValidateOrderLookupForm(FormValidationAction):
    """Asks for what is missing and verifies the customer's proof against the order."""

    def __init__(self, lookup: OrderLookup | None = None, guard: ProofGuard | None = None) -> None:
        self._lookup = lookup
        self._guard = guard

    def name(self) -> str:
        return "validate_order_lookup_form"

    @property
    def lookup(self) -> OrderLookup:
        return self._lookup or services.order_desk()

    @property
    def guard(self) -> ProofGuard:
        return self._guard or services.proof_guard()

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
        if current_order_number(tracker) in verified_orders(tracker):
            return ["order_number"]
        return domain_slots

    async def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        """A new question that names no order while several are proved: forget which one
        was in hand, so the form asks (with a button per order) instead of guessing."""
        starting = tracker.get_slot("requested_slot") is None
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if starting and intent in ORDER_TASK_INTENTS and order_is_ambiguous(tracker):
            return {"order_number": None}
        return {}

    async def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        if value is None:
            return {"order_number": None}
        number = find_order_number(str(value or ""))
        if number is None:
            dispatcher.utter_message(response="utter_order_number_format")
            return {"order_number": None}
        if number in verified_orders(tracker) or "order_contact" in tracker.slots_to_validate():
            return {"order_number": number}
        if await self._belongs_to_linked_customer(number, tracker):
            return {
                "order_number": number,
                "verified_orders": sorted({*verified_orders(tracker), number}),
            }
        proof = parse_contact_proof(str(tracker.get_slot("order_contact") or ""))
        if proof is None:
            return {"order_number": number, "order_contact": None}
        return await self._verify(number, proof, dispatcher, tracker)

    async def validate_order_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        # The whole message beats the slot: an e-mail like "li1999@example.com" must not
        # be read as the phone digits "1999" because an entity mapping got there first.
        latest = str(tracker.latest_message.get("text") or "")
        proof = find_contact_proof(latest) or parse_contact_proof(str(value or ""))
        if proof is None:
            dispatcher.utter_message(response="utter_contact_format")
            return {"order_contact": None}
        number = current_order_number(tracker)
        if number is None:
            return {"order_contact": proof.value}
        return await self._verify(number, proof, dispatcher, tracker)

    async def _belongs_to_linked_customer(self, number: str, tracker: Tracker) -> bool:
        """A Telegram account linked by an earlier verification needs no proof for that
        customer's orders, and only for theirs; a backend failure falls back to asking."""
        customer_id = linked_customer_id(tracker)
        if customer_id is None:
            return False
        try:
            return await self.lookup.belongs_to(number, customer_id)
        except BackendUnavailable:
            return False

    async def _verify(
        self, number: str, proof: ContactProof, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> SlotValues:
        """A wrong number and a wrong proof get the same reply and count the same, here and
        in the guard's count across conversations (which comes first, so a locked order
        is refused even the right proof)."""
        try:
            gate = await self.guard.begin(
                order_number=number,
                client_key=client_key(tracker),
                conversation_id=tracker.sender_id,
            )
        except SQLAlchemyError:  # no count, no check: fail closed, honestly
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"order_contact": None, "lookup_unavailable": True}
        if isinstance(gate, ProofRefusal):
            minutes = gate.minutes_left(self.guard.now())
            contact = services.support_contact()
            dispatcher.utter_message(text=refusal_text(gate, minutes=minutes, contact=contact))
            # The form ends here; the answer action stays silent (the flag's meaning).
            return {"order_number": None, "order_contact": None, "lookup_unavailable": True}
        return await self._check(number, proof, gate, dispatcher, tracker)

    async def _check(
        self,
        number: str,
        proof: ContactProof,
        ticket: ProofTicket,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> SlotValues:
        try:
            customer_id = await self.lookup.verify(number, proof)
        except BackendUnavailable:
            await self.guard.void(ticket)  # nothing was compared: no guess to count
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"order_contact": None, "lookup_unavailable": True}
        if customer_id is not None:
            await self.guard.succeeded(ticket)
            report_customer_verified(dispatcher, customer_id)
            return {
                "order_number": number,
                "order_contact": proof.value,
                "verified_orders": sorted({*verified_orders(tracker), number}),
            }
        failures = _failures(tracker) + 1
        if not is_locked(failures):
            dispatcher.utter_message(response="utter_verification_failed")
        return {"order_number": None, "order_contact": None, "verification_failures": failures}


class ActionShowOrderStatus(VerifiedOrderAction):
    """Answers from the order and logistics systems, for verified orders only."""

    def name(self) -> str:
        return "action_show_order_status"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        report = build_status_report(file.order, file.shipment, today=services.today())
        dispatcher.utter_message(text=render_status_report(report))
        return []
