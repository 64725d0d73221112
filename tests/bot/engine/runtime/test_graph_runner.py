"""The model graph run without dask gives what dask gives: each needed node once, after
its inputs, and the trained model reads and predicts exactly as with Rasa's runner
(run in the engine's interpreter)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.engine_python import RASA_PYTHON, run_engine_script
from tests.support.stack import MODEL

pytestmark = pytest.mark.skipif(
    not RASA_PYTHON.exists() or not MODEL.exists(), reason="needs `make setup` and a model"
)

SCRIPT = r"""
import asyncio, json, os, sys
# Rasa's debug log prints to stdout: it goes to stderr, the answer to the real stdout.
answer_fd = os.dup(1)
os.dup2(2, 1)
import dask
from rasa.core.agent import load_agent
from rasa.core.channels.channel import UserMessage
from bot.engine.runtime import graph_runner, speedups

payload = json.load(sys.stdin)
calls = []

def node(name):
    def run(*inputs):
        calls.append(name)
        return (name, list(inputs))
    return run

# Shaped as Rasa builds it: nodes name the nodes they need, inputs are (name, value).
graph = {
    "a": (node("a"), "message"),
    "b": (node("b"), "a"),
    "c": (node("c"), "a", "b", 3),
    "unused": (node("unused"), "a"),
    "message": ("message", "hello"),
}
out = {}
calls.clear()
out["dask"] = json.loads(json.dumps(dask.get(dict(graph), ["c", "b"])))
out["dask_calls"] = sorted(calls)
calls.clear()
out["ours"] = json.loads(json.dumps(graph_runner.evaluate(dict(graph), ["c", "b"])))
out["our_calls"] = calls[:]

async def answers(agent, prefix):
    found = []
    for number, text in enumerate(payload["texts"]):
        parsed = await agent.parse_message(text)
        sender = f"{prefix}-{number}"
        await agent.processor.log_message(UserMessage(text, sender_id=sender))
        predicted = await agent.processor.predict_next_for_sender_id(sender)
        best = max(predicted["scores"], key=lambda score: score["score"])
        found.append({
            "intent": parsed["intent"]["name"],
            "confidence": round(float(parsed["intent"]["confidence"]), 6),
            "entities": sorted((e["entity"], str(e["value"])) for e in parsed["entities"]),
            "action": best["action"],
            "policy": predicted["policy"],
            "action_confidence": round(float(predicted["confidence"]), 6),
        })
    return found

async def both():
    agent = await load_agent(model_path=payload["model"])
    out["rasa"] = await answers(agent, "rasa")
    speedups.install()
    out["replaced"] = await answers(agent, "ours")

asyncio.run(both())
sys.stdout.flush()
os.write(answer_fd, json.dumps(out).encode())
"""

TEXTS = [
    "hi",
    "where is my order 10023?",
    "my email is ana.lopez@example.com",
    "I want to return the shoes I bought",
    "when do I get my refund",
    "qwpoeiru zxmcnv",
    "I want to talk to a person",
]


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    result: dict[str, Any] = run_engine_script(
        SCRIPT, {"model": str(MODEL), "texts": TEXTS}, timeout=300
    )
    return result


def test_a_graph_is_evaluated_as_dask_evaluates_it(results: dict[str, Any]) -> None:
    assert results["ours"] == results["dask"]
    assert results["ours"][1] == ["b", [["a", [["message", "hello"]]]]]
    # Each needed node ran once, inputs first. A node no target needs does not run (dask
    # runs it too, but Rasa only ever hands over the graph its targets need).
    assert results["our_calls"] == ["a", "b", "c"]
    assert results["dask_calls"] == ["a", "b", "c", "unused"]


def test_the_trained_model_reads_and_predicts_as_with_rasas_runner(
    results: dict[str, Any],
) -> None:
    assert results["replaced"] == results["rasa"]
    intents = [answer["intent"] for answer in results["rasa"]]
    assert intents[0] == "greet" and "nlu_fallback" in intents
    assert results["rasa"][1]["action"] == "order_lookup_form"
    assert results["rasa"][2]["entities"] == [["email", "ana.lopez@example.com"]]
