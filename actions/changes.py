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


def ask_again(dispatcher: CollectingDispatcher, pending: dict[str, Any]) -> None:
    """Repeats the offer's question after a reply that was not a clear yes or no."""
    number = pending.get("order_number") or "your order"
    questions = {
        "cancel": f"cancel order {number}",
        "address": f"send order {number} to {pending.get('address') or 'the new address'}",
        "return": f"open a return for order {number}",
        "refund": f"issue the refund for order {number}",
    }
    what = questions.get(str(pending.get("kind")), f"make this change to order {number}")
    dispatcher.utter_message(
        text=f"Just to be sure, as this can't be undone: shall I {what}? Please answer yes or no.",
        buttons=YES_NO_BUTTONS,
    )


def clear_change() -> list[EventType]:
    return [SlotSet("pending_change", None), SlotSet("awaiting_confirmation", False)]
