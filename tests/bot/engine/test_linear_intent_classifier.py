"""The engine's linear intent classifier, run where it runs: in .venv-rasa (Python 3.10).

One child process trains the component on hand-made features (so the test needs no
encoder), stores it in a real model storage, loads it back and classifies, printing
what it got as JSON; the checks happen here.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.engine_python import RASA_PYTHON, run_engine_script

pytestmark = pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs `make setup`")

SCRIPT = r"""
import json, sys, tempfile
from pathlib import Path
import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException, RasaException
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from bot.engine.linear_intent_classifier import LinearIntentClassifier

DIRECTIONS = {"order_status": [1.0, 0.0, 0.0], "return_request": [0.0, 1.0, 0.0],
              "greet": [0.0, 0.0, 1.0]}
rng = np.random.default_rng(0)
context = ExecutionContext(graph_schema=None, node_name="linear")

def message(text, vector, intent=None, words=None):
    m = Message(data={"text": text, **({"intent": intent} if intent else {})})
    m.add_features(Features(np.array([vector], dtype=np.float32), "sentence", "text", "dense"))
    if words is not None:
        m.add_features(Features(scipy.sparse.coo_matrix([words], dtype=np.float32),
                                "sentence", "text", "sparse"))
    return m

def noisy(direction):
    v = np.array(direction) + rng.normal(0, 0.2, 3)
    return (v / np.linalg.norm(v)).tolist()

training = TrainingData([message(f"{intent} {i}", noisy(d), intent, [1, 0])
                         for intent, d in DIRECTIONS.items() for i in range(20)])
out = {}
with tempfile.TemporaryDirectory() as folder:
    storage = LocalModelStorage(Path(folder))
    resource = Resource("linear")
    trained = LinearIntentClassifier.create({}, storage, resource, context)
    trained.train(training)
    loaded = LinearIntentClassifier.load({}, storage, resource, context)
    probes = [message("where is it", [0.9, 0.1, 0.0], words=[1, 0]),
              message("send back", [0.1, 0.9, 0.1], words=[0, 1]),
              message("between", [0.58, 0.58, 0.58], words=[0, 0]),
              message("", [0.0, 0.0, 0.0]),
              message("hello there", [0.0, 0.1, 0.9])]
    featured = [m for m in probes if m.get("text")]
    width = loaded._weights.shape[1]
    by_matrix = (np.asarray(loaded._features(featured, width=width) @ loaded._weights.T)
                 + loaded._bias)
    by_rows = np.stack([loaded._scores(m) for m in featured])
    out["score_difference"] = float(np.abs(by_matrix - by_rows).max())
    loaded.process(probes)
    out["probes"] = [{"intent": m.get("intent"), "ranking": m.get("intent_ranking")}
                     for m in probes]
    two = TrainingData([message(f"{intent} {i}", noisy(d), intent)
                        for intent, d in list(DIRECTIONS.items())[:2] for i in range(20)])
    binary = LinearIntentClassifier.create({}, storage, Resource("binary"), context)
    binary.train(two)
    binary = LinearIntentClassifier.load({}, storage, Resource("binary"), context)
    pair = [message("where", [0.9, 0.1, 0.0]), message("back", [0.1, 0.9, 0.0])]
    binary.process(pair)
    out["binary"] = [m.get("intent_ranking") for m in pair]
    untrained = LinearIntentClassifier.load({}, storage, Resource("never_trained"), context)
    blank = [message("hello", [1.0, 0.0, 0.0])]
    untrained.process(blank)
    out["untrained"] = blank[0].get("intent")
    # The same data with greet weighted 4 (and a weight for an intent the data lacks).
    weights = {"intent_weights": {"greet": 4, "no_such_intent": 2}}
    weighted = LinearIntentClassifier.create(weights, storage, Resource("weighted"), context)
    weighted.train(training)
    weighted = LinearIntentClassifier.load(weights, storage, Resource("weighted"), context)
    leaning = [message("between", [0.58, 0.58, 0.58], words=[0, 0]),
               message("where is it", [0.9, 0.1, 0.0], words=[1, 0])]
    weighted.process(leaning)
    out["weighted"] = [m.get("intent_ranking") for m in leaning]
    # Out of scope along the third axis only; then made-up examples between the intents
    # (one per training example), and the same for a label the data lacks.
    scoped = TrainingData([message(f"{intent} {i}", noisy(d), intent, [1, 0])
                           for intent, d in [*list(DIRECTIONS.items())[:2],
                                             ("out_of_scope", [0.0, 0.0, 1.0])]
                           for i in range(20)])
    out["between"] = {}
    for name, settings in (("plain", {}), ("mixed", {"between_intents": 1.0}),
                           ("unknown", {"between_intents": 1.0,
                                        "between_intents_label": "no_such_intent"})):
        model = LinearIntentClassifier.create(settings, storage, Resource(name), context)
        model.train(scoped)
        model = LinearIntentClassifier.load(settings, storage, Resource(name), context)
        probes = [message("both", [0.7, 0.7, 0.1], words=[0, 0]),
                  message("where is it", [0.9, 0.1, 0.0], words=[1, 0])]
        model.process(probes)
        out["between"][name] = [m.get("intent")["name"] for m in probes]

errors = {}
for bad in ({"C": 0}, {"sparse_weight": -1}, {"max_iter": 0},
            {"intent_weights": {"greet": 0}}, {"intent_weights": ["greet"]},
            {"between_intents": -0.1}):
    try:
        LinearIntentClassifier.create(bad, None, None, context)
    except InvalidConfigException as e:
        errors[json.dumps(bad)] = str(e)
try:
    no_dense = Message(data={"text": "hi", "intent": "greet"})
    LinearIntentClassifier.create({}, None, None, context).train(
        TrainingData([no_dense, Message(data={"text": "yo", "intent": "other"})]))
except RasaException as e:
    errors["dense"] = str(e)
out["errors"] = errors
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def engine_output() -> dict[str, Any]:
    result: dict[str, Any] = run_engine_script(SCRIPT, None, timeout=300)
    return result


def test_scores_per_message_are_the_trained_features_times_the_weights(
    engine_output: dict[str, Any],
) -> None:
    # `process` scores one message without building the sparse feature matrix that
    # training uses; both must give the same scores.
    assert engine_output["score_difference"] < 1e-9


def test_a_stored_classifier_names_the_intent_each_message_points_to(
    engine_output: dict[str, Any],
) -> None:
    where, back = engine_output["probes"][:2]
    assert where["intent"]["name"] == "order_status"
    assert back["intent"]["name"] == "return_request"
    assert where["intent"]["confidence"] > 0.8
    ranking = where["ranking"]
    assert ranking[0] == where["intent"]
    assert len(ranking) == 3
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-5)
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])


def test_a_message_between_intents_gets_a_low_confidence(engine_output: dict[str, Any]) -> None:
    """Low confidence is what lets the FallbackClassifier say it did not understand."""
    between = engine_output["probes"][2]
    assert between["intent"]["confidence"] < 0.6


def test_a_message_without_sparse_features_is_still_classified(
    engine_output: dict[str, Any],
) -> None:
    assert engine_output["probes"][4]["intent"]["name"] == "greet"


def test_two_intents_are_told_apart_like_many(engine_output: dict[str, Any]) -> None:
    """A binary fit stores one row of weights; both intents must still be ranked."""
    where, back = engine_output["binary"]
    assert [r["name"] for r in where] == ["order_status", "return_request"]
    assert [r["name"] for r in back] == ["return_request", "order_status"]
    assert where[0]["confidence"] > 0.7
    assert sum(r["confidence"] for r in back) == pytest.approx(1.0, abs=1e-5)


def test_empty_text_and_an_untrained_model_give_no_intent(engine_output: dict[str, Any]) -> None:
    assert engine_output["probes"][3]["intent"] == {"name": None, "confidence": 0.0}
    assert engine_output["probes"][3]["ranking"] == []
    assert engine_output["untrained"] == {"name": None, "confidence": 0.0}


def test_a_weighted_intent_wins_what_lies_between(engine_output: dict[str, Any]) -> None:
    """How CLINC150's out-of-scope gets a larger share of what no intent clearly claims."""
    plain = {r["name"]: r["confidence"] for r in engine_output["probes"][2]["ranking"]}
    between, clear = engine_output["weighted"]
    assert between[0]["name"] == "greet"
    assert between[0]["confidence"] > plain["greet"] + 0.1
    assert clear[0]["name"] == "order_status"  # a clear message keeps its intent
    assert {r["name"] for r in between} == {"order_status", "return_request", "greet"}


def test_made_up_examples_between_intents_teach_out_of_scope_that_ground(
    engine_output: dict[str, Any],
) -> None:
    """How CLINC150's off-topic questions that look a little like two intents are caught."""
    between = engine_output["between"]
    assert between["plain"][0] in {"order_status", "return_request"}
    assert between["mixed"] == ["out_of_scope", "order_status"]
    # Without examples of the label there is nothing to learn it from: trained as plain.
    assert between["unknown"] == between["plain"]


def test_configuration_errors_are_clear(engine_output: dict[str, Any]) -> None:
    errors = engine_output["errors"]
    assert "C must be above 0" in errors['{"C": 0}']
    assert "sparse_weight" in errors['{"sparse_weight": -1}']
    assert "max_iter" in errors['{"max_iter": 0}']
    assert "weights above 0" in errors['{"intent_weights": {"greet": 0}}']
    assert "weights above 0" in errors['{"intent_weights": ["greet"]}']
    assert "0 or more" in errors['{"between_intents": -0.1}']
    assert "dense featurizer" in errors["dense"]
