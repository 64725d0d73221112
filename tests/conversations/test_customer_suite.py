"""The customer conversation suite: multi-turn conversations as customers really talk.

Each conversation in `customer_suite.yml` runs against the real engine through the
gateway's HTTP chat API, with a demo order of the kind it names. Every turn says what
the bot must say (`expect`: each item a phrase, or a list of phrases any one of which
will do; buttons count as "[title]") and what it must not (`avoid`); no turn may crash,
and none may be misunderstood unless it is marked `unclear` (gibberish on purpose). `make
eval` prints the share of conversations that pass (conftest's terminal summary).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conversations.conftest import Chat, OrderPicker

SUITE = Path(__file__).with_name("customer_suite.yml")
NEVER = ("didn't quite understand", "Traceback", "Internal Server Error")

Order = dict[str, Any]
ORDER_KINDS: dict[str, Callable[[Order], bool]] = {
    "in_transit": lambda o: o["status"] == "in_transit" and bool(o["tracking_number"])
    and not o["is_late"] and not o["incident_ids"],
    "late": lambda o: o["is_late"] and not o["incident_ids"],
    "late_incident": lambda o: o["is_late"] and bool(o["incident_ids"]),
    "incident": lambda o: bool(o["incident_ids"]),
    "delivered": lambda o: o["status"] == "delivered" and "regular" in o["goods"],
    "delivered_fresh_only": lambda o: o["status"] == "delivered"
    and set(o["goods"]) <= {"fresh", "chilled"},
    "paid": lambda o: o["status"] == "paid" and not o["incident_ids"],
    "packed": lambda o: o["status"] == "packed" and not o["incident_ids"],
    "refunded": lambda o: o["status"] == "refunded",
}  # fmt: skip


def load_suite() -> list[dict[str, Any]]:
    conversations = yaml.safe_load(SUITE.read_text(encoding="utf-8"))
    assert isinstance(conversations, list)
    return conversations


def _fill(text: str, orders: dict[str, Order]) -> str:
    """{order}, {email}, {last4}, {tracking}; {other.order} etc. for the second order."""
    values: dict[str, str] = {}
    for prefix, order in orders.items():
        lead = "" if prefix == "first" else f"{prefix}."
        values[f"{lead}order"] = str(order["order_number"])
        values[f"{lead}email"] = str(order["email"])
        values[f"{lead}last4"] = str(order["phone_last4"])
        values[f"{lead}tracking"] = str(order["tracking_number"] or "")
        values[f"{lead}carrier"] = str(order["carrier"] or "")
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _matches(reply: str, wanted: str | list[str], orders: dict[str, Order]) -> bool:
    options = wanted if isinstance(wanted, list) else [wanted]
    return any(_fill(option, orders).lower() in reply.lower() for option in options)


def _pick(orders: OrderPicker, conversation: dict[str, Any]) -> dict[str, Order]:
    """The conversation's orders: its own if it changes them (or counts wrong proofs against
    them), otherwise lent, since the suite has more conversations than demo orders."""
    if "{" not in str(conversation["turns"]):
        return {}
    get = orders.take if conversation.get("changes_order") else orders.lend
    picked = {"first": get(ORDER_KINDS[conversation.get("order", "in_transit")])}
    if "other" in conversation:
        first_email = picked["first"]["email"]
        kind = ORDER_KINDS[conversation["other"]]
        # Another customer's order: proving it takes its own details, as for a stranger's.
        picked["other"] = get(lambda o: kind(o) and o["email"] != first_email)
    return picked


def _reply(chat: Chat, text: str) -> str:
    """The bot's texts, then each button's title in brackets: what the customer sees."""
    response = chat.send(text)
    assert response.status_code == 200, response.text
    lines = []
    for message in response.json()["messages"]:
        lines.append(message.get("text") or "")
        lines += [f"[{button['title']}]" for button in message.get("buttons") or []]
    return "\n".join(lines)


@pytest.mark.parametrize("conversation", load_suite(), ids=lambda c: str(c["name"]))
def test_conversation(conversation: dict[str, Any], chat: Chat, orders: OrderPicker) -> None:
    picked = _pick(orders, conversation)
    transcript: list[str] = []
    for number, turn in enumerate(conversation["turns"], start=1):
        said = _fill(str(turn["say"]), picked)
        reply = _reply(chat, said)
        transcript += [f"customer: {said}", f"bot: {reply}"]
        shown = "\n".join(transcript)
        for wanted in turn.get("expect", []):
            assert _matches(reply, wanted, picked), f"turn {number} lacks {wanted!r}:\n{shown}"
        never = NEVER[1:] if turn.get("unclear") else NEVER
        for unwanted in [*turn.get("avoid", []), *never]:
            said_it = _matches(reply, unwanted, picked)
            assert not said_it, f"turn {number} says {unwanted!r}:\n{shown}"
