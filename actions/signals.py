"""What actions and the gateway tell each other besides the conversation itself.

The gateway puts facts about the user in each message's metadata (channel, and the
customer a Telegram account was linked to); the engine's only input channel takes
messages from the gateway alone, so actions can trust that metadata. The other way,
an action reports a successful verification as a custom message, which only actions
can produce and which the gateway never shows to the customer.
"""

from __future__ import annotations

from dataclasses import dataclass

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

# Must match bot/channels/rasa_client.py, which reads it on the gateway's side.
SIGNAL_KEY = "shopdesk_signal"


def linked_customer_id(tracker: Tracker) -> int | None:
    """The shop customer the gateway says this account proved to be, if any."""
    metadata = tracker.latest_message.get("metadata") or {}
    value = metadata.get("linked_customer_id") if isinstance(metadata, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def client_key(tracker: Tracker) -> str:
    """Who is asking, for the limits on failed proofs: the gateway's client key (an
    address or a Telegram user), or the conversation itself when it sent none."""
    metadata = tracker.latest_message.get("metadata") or {}
    value = metadata.get("client") if isinstance(metadata, dict) else None
    if isinstance(value, str) and 0 < len(value) <= 64:
        return value
    return f"conversation:{tracker.sender_id}"[:64]


def report_customer_verified(dispatcher: CollectingDispatcher, customer_id: int) -> None:
    dispatcher.utter_message(
        json_message={SIGNAL_KEY: {"type": "customer_verified", "customer_id": customer_id}}
    )


@dataclass(frozen=True)
class StaffMember:
    id: int
    name: str
    role: str


def staff_member(tracker: Tracker) -> StaffMember | None:
    """The staff member the gateway says is writing (its console session, or a Telegram
    chat the member linked), with the role they have now; None for everyone else. The
    text of a message never makes anyone staff: only this metadata does."""
    metadata = tracker.latest_message.get("metadata") or {}
    if not isinstance(metadata, dict):
        return None
    role, staff_id, name = (
        metadata.get("role"),
        metadata.get("staff_id"),
        metadata.get("staff_name"),
    )
    if not isinstance(role, str) or isinstance(staff_id, bool) or not isinstance(staff_id, int):
        return None
    return StaffMember(staff_id, name if isinstance(name, str) else f"staff #{staff_id}", role)


def notice_customer_id(tracker: Tracker) -> int | None:
    """The customer this chat gets incident notices for: its linked account's customer
    (on the web chat too, where the link gives no access to orders)."""
    metadata = tracker.latest_message.get("metadata") or {}
    value = metadata.get("notice_customer_id") if isinstance(metadata, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return linked_customer_id(tracker)
    return value
