"""Changes that need the customer's yes first: the offer is remembered in two slots.

`pending_change` says what was offered ({"kind", "order_number", ...});
`awaiting_confirmation` lets the rules route the customer's yes or no to
`action_apply_pending_change` / `action_drop_pending_change` (actions/confirmations.py).
A customer who asks again for the change on offer ("yes please cancel", "yes change
the address") has said yes: the offer goes straight to `action_apply_pending_change`
instead of being repeated.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.domain.consent import is_clear_repeat, is_clear_yes

YES_NO_BUTTONS = [{"title": "Yes, go ahead", "payload": "yes"}, {"title": "No", "payload": "no"}]


# The intents that ask for each kind of change; a refund needs an unshipped order
# cancelled first, so asking for the refund again says yes to that cancellation.
REQUESTS = {
    "cancel": frozenset({"cancel_order", "refund_request"}),
    "address": frozenset({"change_address"}),
    "return": frozenset({"return_request"}),
    "refund": frozenset({"refund_request"}),
}


def pending_change(tracker: Tracker) -> dict[str, Any]:
    value = tracker.get_slot("pending_change")
    return value if isinstance(value, dict) else {}


def said_yes(tracker: Tracker) -> bool:
    """Whether the last message is a go-ahead for the pending change (bot/domain/consent.py)."""
    message = tracker.latest_message
    intent = message.get("intent") or {}
    name, text = intent.get("name"), str(message.get("text") or "")
    confidence = float(intent.get("confidence") or 0.0)
    requests = REQUESTS.get(str(pending_change(tracker).get("kind")), frozenset())
    return is_clear_yes(text, intent=name, confidence=confidence) or is_clear_repeat(
        text, intent=name, requests=requests
    )


def offer_change(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    text: str,
    kind: str,
    order_number: str,
    **details: Any,
) -> list[EventType]:
    """Offers the change, or makes it if the customer just asked again for this very one."""
    change = {"kind": kind, "order_number": order_number, **details}
    on_offer = tracker.get_slot("awaiting_confirmation") and pending_change(tracker) == change
    if on_offer and said_yes(tracker):
        return [FollowupAction("action_apply_pending_change")]
    dispatcher.utter_message(text=text, buttons=YES_NO_BUTTONS)
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


def settled() -> list[EventType]:
    """The change is made or dropped: listen next. The rule that ran the apply or drop
    action was conditioned on `awaiting_confirmation`, which it has just cleared, so no rule
    predicts the next step and the engine's fallback would add "Sorry, I didn't quite
    understand" to the answer."""
    return [*clear_change(), FollowupAction("action_listen")]
