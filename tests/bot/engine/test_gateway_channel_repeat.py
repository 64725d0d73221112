"""A message the gateway sends again after the engine had answered it (the answer was
lost on the way back): the engine repeats that answer instead of a second turn, and a
turn that was taken back (its action failed) is run again."""

from __future__ import annotations

from tests.support.engine_python import run_engine_script

SCRIPT = r"""
import json, sys
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered, UserUtteranceReverted
from rasa.shared.core.trackers import DialogueStateTracker
from bot.engine.gateway_channel import earlier_answer, rasa_message_id

def said(text, message_id):
    return UserUttered(text, {"name": "x", "confidence": 0.9}, message_id=message_id)

buttons = [{"title": "Track it", "payload": "/track"}]
tracker = DialogueStateTracker.from_events("c0ffee", [
    ActionExecuted("action_listen"),
    said("hi", "gateway-1"), ActionExecuted("utter_greet"),
    BotUttered("Hello!", {"buttons": buttons}),
    ActionExecuted("utter_more"), BotUttered("Anything else?"), ActionExecuted("action_listen"),
    said("refund?", "gateway-2"), ActionExecuted("action_answer_from_knowledge"),
    UserUtteranceReverted(),  # the action server failed: taken back
    said("refund?", "gateway-3"), ActionExecuted("utter_refund"), BotUttered("5 days."),
    ActionExecuted("action_listen"),
])
events = tracker.applied_events()
json.dump({
    "first": earlier_answer(events, "c0ffee", "gateway-1"),
    "reverted": earlier_answer(events, "c0ffee", "gateway-2"),
    "last": earlier_answer(events, "c0ffee", "gateway-3"),
    "unknown": earlier_answer(events, "c0ffee", "gateway-4"),
    "ids": [rasa_message_id(m) for m in ({"gateway_message_id": 7}, {},
            {"gateway_message_id": True}, {"gateway_message_id": "7"})],
}, sys.stdout)
"""


def test_an_answered_message_gets_its_answer_again_and_a_taken_back_one_does_not() -> None:
    result = run_engine_script(SCRIPT, payload=None)

    assert result["first"] == [
        {
            "recipient_id": "c0ffee",
            "text": "Hello!",
            "buttons": [{"title": "Track it", "payload": "/track"}],
        },
        {"recipient_id": "c0ffee", "text": "Anything else?"},
    ]
    assert result["reverted"] is None
    assert result["last"] == [{"recipient_id": "c0ffee", "text": "5 days."}]
    assert result["unknown"] is None
    assert result["ids"] == ["gateway-7", None, None, None]
