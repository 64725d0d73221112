"""Cancelling an order or changing its delivery address, only before it ships."""

from __future__ import annotations

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.changes import offer_change
from actions.verified import VerifiedOrderAction
from bot.domain.money import cny
from bot.domain.order_changes import address_problem, can_change, explain_no_change
from bot.domain.order_desk import OrderFile
from bot.domain.orders import OrderStatus


class ActionOfferCancellation(VerifiedOrderAction):
    def name(self) -> str:
        return "action_offer_cancellation"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        number = file.order.number
        order = file.order
        if not can_change(order):
            dispatcher.utter_message(text=explain_no_change(order, file.shipment, change="cancel"))
            return []
        refund = (
            ""
            if order.status is OrderStatus.PENDING_PAYMENT
            else f" and refund {cny(order.total + order.shipping_fee)}"
        )
        items = ", ".join(line.name for line in order.lines)
        return offer_change(
            dispatcher,
            tracker,
            text=f"Order {number} ({items}) hasn't shipped yet, so I can cancel it{refund}. "
            "Shall I cancel it?",
            kind="cancel",
            order_number=number,
        )


class ActionCheckAddressChange(VerifiedOrderAction):
    """Asks for the new address only when the order can still take one."""

    def name(self) -> str:
        return "action_check_address_change"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        number = file.order.number
        if not can_change(file.order):
            dispatcher.utter_message(
                text=explain_no_change(file.order, file.shipment, change="address")
            )
            return []
        dispatcher.utter_message(
            text=f"Order {number} is still in our warehouse, so the address can change. "
            f"It's going to: {file.order.delivery_address}."
        )
        return [FollowupAction("change_address_form")]


class ValidateChangeAddressForm(FormValidationAction):
    def name(self) -> str:
        return "validate_change_address_form"

    async def validate_new_address(
        self, value: object, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, object]:
        problem = address_problem(str(value or ""))
        if problem:
            dispatcher.utter_message(text=problem)
            return {"new_address": None}
        return {"new_address": " ".join(str(value).split())}


class ActionConfirmAddressChange(VerifiedOrderAction):
    def name(self) -> str:
        return "action_confirm_address_change"

    async def act(
        self, file: OrderFile, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        number = file.order.number
        address = str(tracker.get_slot("new_address") or "")
        return offer_change(
            dispatcher,
            tracker,
            text=f"Change the delivery address of order {number} to: {address}?",
            kind="address",
            order_number=number,
            address=address,
        )
