"""What the service desk records about each customer contact, as plain facts.

The gateway appends one row per thing that happened (bot/storage/desk_events.py), and
the managers' figures (bot/domain/desk_figures.py) are computed from those rows alone:
this module is the vocabulary both sides share, so that a figure never depends on how a
conversation looks today, only on what was recorded when it happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    # The customer's first message: a contact (opening the chat page costs nothing).
    OPENED = "opened"
    # The first topic the bot recognised in the contact (see `is_topic`).
    INTENT = "intent"
    # The bot's answer named `incident_id` (bot/storage/incident_contacts.py).
    INCIDENT_CONTACT = "incident_contact"
    # The conversation ended (idle) and never went to a person.
    BOT_RESOLVED = "bot_resolved"
    HANDED_OFF = "handed_off"
    # value: seconds from the handoff to the agent's first message.
    AGENT_FIRST_REPLY = "agent_first_reply"
    # An agent closed the conversation or handed it back; value: seconds since it opened.
    RESOLVED = "resolved"
    # The customer left the queue for the bot; value: seconds waited.
    ABANDONED = "abandoned"
    # The customer left a message for a call-back instead of waiting; value: seconds waited.
    CALLBACK = "callback"
    # The customer was asked to rate the agent's help.
    SURVEY_SENT = "survey_sent"
    # value: the score, 1-5.
    RATED = "rated"
    # A proactive notice about `incident_id` reached a customer (`account_id`).
    NOTICE_SENT = "notice_sent"


@dataclass(frozen=True)
class DeskFact:
    """One recorded event; `account_id` is the customer's channel account (a Telegram user,
    a web chat browser), which links a notice to the same customer's later contacts."""

    kind: str
    at: datetime
    conversation_id: str | None = None
    channel: str | None = None
    handoff_id: int | None = None
    agent_id: int | None = None
    incident_id: int | None = None
    intent: str | None = None
    value: float | None = None
    account_id: int | None = None


# What customers say on the way, not what they came for: a contact that only greeted,
# thanked or answered yes/no has no topic of its own.
NOT_A_TOPIC = frozenset(
    {"greet", "goodbye", "thank", "affirm", "deny", "inform", "bot_challenge", "nlu_fallback"}
)


def is_topic(intent: str | None) -> bool:
    return bool(intent) and intent not in NOT_A_TOPIC
