"""The engine's check of action server answers accepts and refuses exactly what Rasa's
`jsonschema.validate` does, on answers built from every event kind of Rasa's schema and
on broken variants of each (run in the engine's interpreter)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.engine_python import RASA_PYTHON, run_engine_script

pytestmark = pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs `make setup`")

SCRIPT = r"""
import copy, json, sys
import jsonschema
from rasa.core.actions.action import RemoteAction
from bot.engine.runtime.action_results import ActionResultValidator

schema = RemoteAction.action_response_format_spec()
ours = ActionResultValidator(schema)
SAMPLE = {"string": "x", "number": 1.5, "integer": 2, "boolean": True, "object": {},
          "array": [], "null": None}
WRONG = {"string": 5, "number": "five", "integer": "two", "boolean": "yes", "object": [1],
         "array": {"a": 1}, "null": "x"}

def sample(kind):
    value = {"event": kind["properties"]["event"]["const"]}
    for name, spec in kind.get("properties", {}).items():
        types = spec.get("type")
        if name != "event" and types:
            value[name] = SAMPLE[types[0] if isinstance(types, list) else types]
    return value

answers = [{}, {"events": []}, {"responses": [{"text": "hi"}]}, [], "x", {"events": "x"},
           {"responses": [1]}, {"events": [1]}, {"events": [{}]}, {"events": [{"event": 3}]},
           {"events": [{"event": "no_such_event"}]}, {"events": [], "extra": 1}]
for kind in schema["properties"]["events"]["items"]["oneOf"]:
    event = sample(kind)
    answers.append({"events": [event]})
    answers.append({"events": [event, {"event": "no_such_event"}]})
    answers.append({"events": [{**event, "timestamp": "noon"}]})
    answers.append({"events": [{**event, "metadata": 7}]})
    for name, spec in kind.get("properties", {}).items():
        types = spec.get("type")
        if name != "event" and isinstance(types, str):
            answers.append({"events": [{**event, name: WRONG[types]}]})
    required = [name for name in kind.get("required", []) if name != "event"]
    for name in required:
        answers.append({"events": [{k: v for k, v in event.items() if k != name}]})

def verdict(check, answer):
    try:
        check(copy.deepcopy(answer))
        return True
    except jsonschema.ValidationError:
        return False

differences, accepted = [], 0
for answer in answers:
    theirs = verdict(lambda a: jsonschema.validate(a, schema), answer)
    mine = verdict(ours.validate, answer)
    accepted += theirs
    if theirs != mine:
        differences.append({"answer": answer, "rasa": theirs, "ours": mine})

broken = copy.deepcopy(schema)
del broken["properties"]["events"]["items"]["oneOf"][0]["properties"]["event"]
try:
    ActionResultValidator(broken)
    refused = None
except ValueError as error:
    refused = str(error)
json.dump({"answers": len(answers), "accepted": accepted, "differences": differences,
           "refused": refused}, sys.stdout)
"""


@pytest.fixture(scope="module")
def compared() -> dict[str, Any]:
    result: dict[str, Any] = run_engine_script(SCRIPT, None, timeout=300)
    return result


def test_every_answer_gets_rasas_verdict(compared: dict[str, Any]) -> None:
    assert compared["differences"] == []
    # Both kinds of verdict were put to the test, for all 23 event kinds.
    assert compared["answers"] > 100
    assert 23 <= compared["accepted"] < compared["answers"] - 23


def test_a_schema_it_cannot_read_the_same_way_stops_it(compared: dict[str, Any]) -> None:
    assert compared["refused"] is not None
    assert "event" in compared["refused"]
