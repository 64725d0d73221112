""" "No wait, I meant the other order": switch the order in hand and ask the same question again.

Read as a plain no, the correction would drop the customer's question; a good agent
keeps the question and changes the order. The lookup form then answers it (the last
`order_task`) for the other order, asking for its number and proof if it is new.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.verified import current_order_number, verified_orders


class ActionSwitchOrder(Action):
    """Drops any change on offer and moves to the other proved order, or asks which one."""

    def name(self) -> str:
        return "action_switch_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = []
        if tracker.get_slot("awaiting_confirmation"):
            pending = tracker.get_slot("pending_change") or {}
            number = pending.get("order_number") if isinstance(pending, dict) else None
            dispatcher.utter_message(
                text=f"No problem, I've left order {number or 'that'} as it is."
            )
            events += [SlotSet("pending_change", None), SlotSet("awaiting_confirmation", False)]
        others = [n for n in verified_orders(tracker) if n != current_order_number(tracker)]
        if len(others) == 1:
            dispatcher.utter_message(text=f"Sure, here's order {others[0]}.")
            return [*events, SlotSet("order_number", others[0])]
        # The lookup asks next: for the other order's number, or which one, with buttons.
        return [*events, SlotSet("order_number", None), SlotSet("requested_slot", None)]
