"""The quality-claim skill: damaged, spoiled, wrong or missing items.

After verification it checks the reporting window and the claims already in
progress, asks what happened and whether the customer wants a refund or a
replacement, then files the claim. A refund never exceeds what is left to refund;
if it still fails once the claim is filed, the customer hears the claim is filed
and a person finishes the refund.
"""

from __future__ import annotations

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.confirmations import pass_refund_to_person
from actions.verified import VerifiedOrderAction
from bot.domain.aftersales import Resolution
from bot.domain.claims import (
    assess_claim,
    describe_claim,
    describe_claim_filed,
    describe_open_claims,
    description_problem,
    explain_nothing_to_refund,
    parse_resolution,
)
from bot.domain.handoff import HandoffReason, claim_needs_person
from bot.domain.money import cny
from bot.domain.order_desk import OrderFile
from bot.domain.refunds import explain_refund_not_made, plan_claim_refund, refundable


class ActionCheckQualityClaim(VerifiedOrderAction):
    """Starts the damage report only when the order is still inside its reporting window
    and has an item without a claim in progress."""

    needs_aftersales = True  # the claims already filed

    def name(self) -> str:
        return "action_check_quality_claim"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        eligibility = assess_claim(
            file.order, file.shipment, now=services.now(), claims=file.claims
        )
        if eligibility.reason:
            dispatcher.utter_message(text=eligibility.reason)
            return []
        if eligibility.already_open:
            others = ", ".join(line.name for line in eligibility.lines)
            dispatcher.utter_message(
                text=f"{describe_open_claims(file.order, eligibility.already_open)} "
                f"I can open a claim for {others}."
            )
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
    needs_aftersales = True  # claims and refunds so far

    def name(self) -> str:
        return "action_file_quality_claim"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        number, order = file.order.number, file.order
        cleared: list[EventType] = [
            SlotSet("damage_description", None),
            SlotSet("claim_resolution", None),
        ]
        # The window may have closed, or a claim been filed elsewhere, while we talked.
        eligibility = assess_claim(order, file.shipment, now=services.now(), claims=file.claims)
        if eligibility.reason:
            dispatcher.utter_message(text=eligibility.reason)
            return cleared
        resolution = Resolution(str(tracker.get_slot("claim_resolution")))
        if resolution is Resolution.REFUND and refundable(order, file.refunds) <= 0:
            dispatcher.utter_message(text=explain_nothing_to_refund(order))
            return cleared
        claim = await self.desk.file_claim(
            number,
            description=str(tracker.get_slot("damage_description") or ""),
            resolution=resolution,
            skus=tuple(line.sku for line in eligibility.lines),
        )
        refund = None
        if resolution is Resolution.REFUND:
            plan = plan_claim_refund(
                order,
                file.refunds,
                value=eligibility.value,
                claim_id=claim.id,
                today=services.today(),
            )
            refund = None if plan is None else await self.desk.refund_after_change(number, plan)
            if refund is None:  # the claim is filed all the same: say so, and get a person
                dispatcher.utter_message(
                    text=explain_refund_not_made(describe_claim_filed(claim, eligibility))
                )
                return [
                    *cleared,
                    *pass_refund_to_person(f"quality claim {claim.id}: the refund was not made"),
                ]
        dispatcher.utter_message(text=describe_claim(claim, eligibility, refund))
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
