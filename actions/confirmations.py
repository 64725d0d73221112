"""Carries out the change the customer just said yes to, or drops it on a no.

The offer was made by the skill that checked the rules; this re-checks them
against the order as it is now, since the warehouse may have shipped it meanwhile.
A reply the classifier only half reads as a yes gets the question again
(bot/domain/consent.py): none of these changes can be undone from the chat.
A change followed by a refund (cancel, return) may succeed while its refund fails:
the customer then hears what was done, and a person finishes the refund.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.changes import ask_again, clear_change, pending_change, said_yes, settled
from actions.verified import VerifiedOrderAction, verified_orders
from bot.backends.protocols import BackendUnavailable
from bot.domain.calendar import add_working_days, spoken_date
from bot.domain.handoff import HandoffReason
from bot.domain.money import cny
from bot.domain.order_desk import OrderFile
from bot.domain.orders import OrderStatus
from bot.domain.refunds import (
    RefundPlan,
    describe_refund,
    explain_refund_not_made,
    plan_refund,
)
from bot.domain.returns import assess_return, explain_return_refusal


def pass_refund_to_person(detail: str) -> list[EventType]:
    """After a change was made but its refund was not: a person finishes the refund (a
    policy handoff, which no setting switches off)."""
    return [
        SlotSet("handoff_reason", HandoffReason.POLICY.value),
        SlotSet("handoff_detail", detail),
        FollowupAction("action_hand_off"),
    ]


# What was done (for the customer) and, when its refund was not made, what the agent
# must finish (None: nothing left to do).
Outcome = tuple[str, str | None]


class ActionApplyPendingChange(VerifiedOrderAction):
    needs_aftersales = True

    def name(self) -> str:
        return "action_apply_pending_change"

    def order_number_for(self, tracker: Tracker) -> str | None:
        number = pending_change(tracker).get("order_number")
        return number if number in verified_orders(tracker) else None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Acts only on a clear yes; the offer stays open after anything vaguer."""
        if not said_yes(tracker):
            ask_again(dispatcher, pending_change(tracker))
            return []
        return await super().run(dispatcher, tracker, domain)

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        pending, number = pending_change(tracker), file.order.number
        kind = pending.get("kind")
        unfinished: str | None = None
        if kind == "cancel":
            text, unfinished = await self._cancel(file)
        elif kind == "address":
            order = await self.desk.change_address(number, str(pending.get("address") or ""))
            text = f"Done: order {number} will now go to {order.delivery_address}."
        elif kind == "return":
            text, unfinished = await self._open_return(file)
        elif kind == "refund":
            text = await self._refund(file)
        else:
            text = "Sorry, I've lost track of what you wanted to change. Could you ask again?"
        dispatcher.utter_message(text=text)
        if unfinished is None:
            return settled()
        return [*clear_change(), *pass_refund_to_person(unfinished)]

    async def _cancel(self, file: OrderFile) -> Outcome:
        number, was_paid = file.order.number, file.order.status is not OrderStatus.PENDING_PAYMENT
        cancelled = await self.desk.cancel(number)
        done = f"Order {number} is cancelled."
        if not was_paid:
            return f"{done} Nothing was charged, so there's nothing to refund.", None
        plan = plan_refund(cancelled, (), (), today=services.today())
        if not isinstance(plan, RefundPlan):
            return done, None
        refund = await self.desk.refund_after_change(number, plan)
        if refund is None:
            unfinished = f"order {number} cancelled; its refund of {cny(plan.amount)} was not made"
            return explain_refund_not_made(done), unfinished
        return f"{done} {describe_refund(refund)}", None

    async def _open_return(self, file: OrderFile) -> Outcome:
        eligibility = assess_return(file.order, file.shipment, now=services.now())
        if not eligibility.allowed:
            return explain_return_refusal(eligibility, file.order), None
        number, today = file.order.number, services.today()
        request = await self.desk.open_return(
            number, eligibility, reason="no reason (7-day return)"
        )
        carrier = file.shipment.carrier if file.shipment else "our courier"
        pickup_by = spoken_date(add_working_days(today, 2))
        done = (
            f"Return {request.id} is open for order {number}. Next steps: pack the items with all "
            f"their parts and labels; {carrier} will call to collect the parcel by {pickup_by} "
            "(free of charge)."
        )
        unfinished = f"return {request.id} opened; its refund was not made"
        try:  # the return is open now: from here on a failure is the refund's alone
            updated = await self.desk.order_file(number, with_aftersales=True)
        except BackendUnavailable:
            return explain_refund_not_made(done), unfinished
        if updated is None:
            return explain_refund_not_made(done), unfinished
        plan = plan_refund(updated.order, updated.returns, updated.refunds, today=today)
        if not isinstance(plan, RefundPlan):
            return done, None
        refund = await self.desk.refund_after_change(number, plan)
        if refund is None:
            return explain_refund_not_made(done), unfinished
        return f"{done} {describe_refund(refund)}", None

    async def _refund(self, file: OrderFile) -> str:
        """One step: if it fails, nothing changed, and VerifiedOrderAction says so."""
        plan = plan_refund(file.order, file.returns, file.refunds, today=services.today())
        if not isinstance(plan, RefundPlan):
            return f"Order {file.order.number} has no refund due any more."
        refund = await self.desk.issue_refund(file.order.number, plan)
        return f"Done. {describe_refund(refund)}"


class ActionDropPendingChange(Action):
    def name(self) -> str:
        return "action_drop_pending_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_change_dropped")
        return settled()
