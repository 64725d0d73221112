"""The quality-claim skill: damaged, spoiled, wrong or missing items.

After verification it checks the reporting window, asks what happened and
whether the customer wants a refund or a replacement, then files the claim.
"""

from __future__ import annotations

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.verified import VerifiedOrderAction
from bot.domain.aftersales import RefundStatus, Resolution
from bot.domain.claims import assess_claim, describe_claim, description_problem, parse_resolution
from bot.domain.handoff import HandoffReason, claim_needs_person
from bot.domain.money import cny
from bot.domain.order_desk import OrderFile
from bot.domain.refunds import RefundPlan, expected_refund_date, refund_method


class ActionCheckQualityClaim(VerifiedOrderAction):
    """Starts the damage report only when the order is still inside its reporting window."""

    def name(self) -> str:
        return "action_check_quality_claim"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        eligibility = assess_claim(file.order, file.shipment, now=services.now())
        if eligibility.reason:
            dispatcher.utter_message(text=eligibility.reason)
            return []
        return [
            SlotSet("damage_description", None),
            SlotSet("claim_resolution", None),
            FollowupAction("damage_report_form"),
        ]


class ValidateDamageReportForm(FormValidationAction):
    def name(self) -> str:
        return "validate_damage_report_form"

    async def validate_damage_description(
        self, value: object, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, object]:
        problem = description_problem(str(value or ""))
        if problem:
            dispatcher.utter_message(text=problem)
            return {"damage_description": None}
        return {"damage_description": " ".join(str(value).split())}

    async def validate_claim_resolution(
        self, value: object, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, object]:
        resolution = parse_resolution(str(value or ""))
        if resolution is None:
            dispatcher.utter_message(response="utter_ask_claim_resolution")
            return {"claim_resolution": None}
        return {"claim_resolution": resolution.value}


class ActionFileQualityClaim(VerifiedOrderAction):
    def name(self) -> str:
        return "action_file_quality_claim"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        number = file.order.number
        eligibility = assess_claim(file.order, file.shipment, now=services.now())
        if eligibility.reason:  # the window closed while we were talking
            dispatcher.utter_message(text=eligibility.reason)
            return []
        resolution = Resolution(str(tracker.get_slot("claim_resolution")))
        claim = await self.desk.file_claim(
            number,
            description=str(tracker.get_slot("damage_description") or ""),
            resolution=resolution,
            skus=tuple(line.sku for line in eligibility.lines),
        )
        if resolution is Resolution.REFUND:
            method = refund_method(file.order.payment_method)
            await self.desk.issue_refund(
                number,
                RefundPlan(
                    amount=eligibility.value,
                    method=method,
                    status=RefundStatus.PENDING,
                    expected_by=expected_refund_date(method, today=services.today()),
                    reason=f"quality claim {claim.id}",
                ),
            )
        dispatcher.utter_message(text=describe_claim(claim, eligibility))
        cleared: list[EventType] = [
            SlotSet("damage_description", None),
            SlotSet("claim_resolution", None),
        ]
        if not claim_needs_person(services.policy(), eligibility.value):
            return cleared
        # Above the value the shop lets the bot settle alone, a person reviews the claim.
        dispatcher.utter_message(
            text=f"Because of the value of this claim ({cny(eligibility.value)}), a person from "
            "our team will review it with you."
        )
        return [
            *cleared,
            SlotSet("handoff_reason", HandoffReason.POLICY.value),
            SlotSet("handoff_detail", f"quality claim {claim.id} of {cny(eligibility.value)}"),
            FollowupAction("action_hand_off"),
        ]
