"""Changes that need the customer's yes first: the offer is remembered in two slots.

`pending_change` says what was offered ({"kind", "order_number", ...});
`awaiting_confirmation` lets the rules route the customer's yes or no to
`action_apply_pending_change` / `action_drop_pending_change` (actions/confirmations.py).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

YES_NO_BUTTONS = [{"title": "Yes, go ahead", "payload": "yes"}, {"title": "No", "payload": "no"}]


def offer_change(
    dispatcher: CollectingDispatcher, *, text: str, kind: str, order_number: str, **details: Any
) -> list[EventType]:
    dispatcher.utter_message(text=text, buttons=YES_NO_BUTTONS)
    change = {"kind": kind, "order_number": order_number, **details}
    return [SlotSet("pending_change", change), SlotSet("awaiting_confirmation", True)]


def clear_change() -> list[EventType]:
    return [SlotSet("pending_change", None), SlotSet("awaiting_confirmation", False)]
