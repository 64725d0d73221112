"""The refund skills: issue a refund that is due, and report where refunds stand."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.changes import offer_change
from actions.verified import VerifiedOrderAction
from bot.domain.order_desk import OrderFile
from bot.domain.order_questions import OrderQuestion, answer_shipping_fee, order_question
from bot.domain.refunds import (
    RefundPlan,
    RefundRefusal,
    describe_refund,
    describe_refund_plan,
    explain_refund_refusal,
    plan_refund,
)


class ActionRequestRefund(VerifiedOrderAction):
    """A refund that is due is created at once; otherwise the step that leads to one."""

    needs_aftersales = True

    def name(self) -> str:
        return "action_request_refund"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        number = file.order.number
        text = str(tracker.latest_message.get("text") or "")
        if order_question(text) is OrderQuestion.SHIPPING_FEE:  # delay compensation, not a return
            assessment = await self.desk.delay(file, now=services.now())
            dispatcher.utter_message(text=answer_shipping_fee(assessment))
            return []
        plan = plan_refund(file.order, file.returns, file.refunds, today=services.today())
        if isinstance(plan, RefundPlan):
            refund = await self.desk.issue_refund(number, plan)
            dispatcher.utter_message(text=f"Done. {describe_refund(refund)}")
            return []
        if plan is RefundRefusal.ALREADY_REFUNDED and file.refunds:
            lines = [describe_refund(refund) for refund in file.refunds]
            dispatcher.utter_message(text="\n".join([f"Order {number} already has:", *lines]))
            return []
        if plan in (RefundRefusal.CANCEL_FIRST, RefundRefusal.NOT_PAID):
            return offer_change(
                dispatcher,
                tracker,
                text=explain_refund_refusal(plan, file.order),
                kind="cancel",
                order_number=number,
            )
        dispatcher.utter_message(text=explain_refund_refusal(plan, file.order))
        return []


class ActionShowRefundStatus(VerifiedOrderAction):
    needs_aftersales = True

    def name(self) -> str:
        return "action_show_refund_status"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        number = file.order.number
        if file.refunds:
            lines = [describe_refund(refund) for refund in file.refunds]
            dispatcher.utter_message(text="\n".join(lines))
            return []
        plan = plan_refund(file.order, file.returns, file.refunds, today=services.today())
        if isinstance(plan, RefundPlan):
            return offer_change(
                dispatcher,
                tracker,
                text=f"There's no refund on order {number} yet, but one is due: "
                f"{describe_refund_plan(plan)}. Shall I issue it now?",
                kind="refund",
                order_number=number,
            )
        why = explain_refund_refusal(plan, file.order)
        dispatcher.utter_message(text=f"There's no refund on order {number}. {why}")
        return []
