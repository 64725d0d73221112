"""The engine's answer to the gateway's `report_intent`: the intent of the turn's own
message, read from the tracker in the engine's interpreter, or nothing at all."""

from __future__ import annotations

from tests.support.engine_python import run_engine_script

SCRIPT = r"""
import asyncio, json, sys
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import ActionExecuted, UserUttered
from bot.engine.gateway_channel import _intent_signal, turn_intent

def said(text, intent, message_id):
    return UserUttered(text, {"name": intent, "confidence": 0.9}, message_id=message_id)

events = [said("hi", "greet", "m1"), ActionExecuted("utter_greet"),
          said("where is it", "order_status", "m2"), ActionExecuted("action_listen")]

class Tracker:
    def __init__(self, events): self.events = events

class Processor:
    def __init__(self, fails): self.fails = fails
    async def get_tracker(self, sender_id):
        if self.fails: raise RuntimeError("tracker store down")
        return Tracker(events)

class Agent:
    def __init__(self, fails=False): self.processor = Processor(fails)

class CachingStore:  # has the turn's tracker cached, as bot/engine/runtime/tracker_store.py
    def peek(self, sender_id): return Tracker(events) if sender_id == "c0ffee" else None

class FailSafe:
    def __init__(self): self._tracker_store = CachingStore()

class CachedAgent:  # reads the cached tracker; its processor would fail if asked
    def __init__(self): self.processor, self.tracker_store = Processor(True), FailSafe()

def message(message_id):
    return UserMessage("where is it", CollectingOutputChannel(), "c0ffee", message_id=message_id)

async def main():
    return {
        "m1": turn_intent(events, "m1"),
        "m2": turn_intent(events, "m2"),
        "unknown": turn_intent(events, "m3"),
        "signal": await _intent_signal(Agent(), message("m2")),
        "broken": await _intent_signal(Agent(fails=True), message("m2")),
        "cached": await _intent_signal(CachedAgent(), message("m2")),
    }

json.dump(asyncio.run(main()), sys.stdout)
"""


def test_the_turns_intent_or_nothing() -> None:
    result = run_engine_script(SCRIPT, payload=None)
    assert (result["m1"], result["m2"], result["unknown"]) == ("greet", "order_status", None)
    assert result["signal"] == [
        {
            "recipient_id": "c0ffee",
            "custom": {"shopdesk_signal": {"type": "intent", "name": "order_status"}},
        }
    ]
    # A tracker that cannot be read costs the figures one intent, never the customer a turn.
    assert result["broken"] == []
    # With a caching store the turn's tracker is read from the cache, left in it.
    assert result["cached"] == result["signal"]
