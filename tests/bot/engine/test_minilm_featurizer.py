"""The engine's MiniLM featurizer, run where it runs: in .venv-rasa (Python 3.10).

One child process builds the component, featurizes messages the way Rasa's graph does
(WhitespaceTokenizer first) and prints what it got as JSON; the checks happen here,
against sentence-transformers in this interpreter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.nlu import export as nlu_export
from tests.support.engine_python import RASA_PYTHON, run_engine_script

ROOT = Path(__file__).resolve().parents[3]
MODEL_DIR = ROOT / "models" / "minilm"

pytestmark = pytest.mark.skipif(
    not RASA_PYTHON.exists() or not (MODEL_DIR / "model.onnx").exists(),
    reason="needs `make setup` (.venv-rasa and models/minilm)",
)

TEXTS = [
    "Where is my order?",
    "where is my oder??? it was supposed to arrive yesterdya",
    "my package never arrived 😡",
    "?",
    "我想退货，可以吗？",
    "I ordered a blender on Monday and paid for express shipping. " * 30,
]

SCRIPT = r"""
import json, sys
from rasa.engine.graph import ExecutionContext
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from bot.engine.minilm_featurizer import MiniLMFeaturizer

texts = json.load(sys.stdin)
tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
context = ExecutionContext(graph_schema=None, node_name="minilm")

def build(**overrides):
    config = {**MiniLMFeaturizer.get_default_config(), **overrides}
    return MiniLMFeaturizer.create(config, None, None, context)

def row(message, attribute="text"):
    sequence, sentence = message.get_dense_features(attribute)
    return {
        "tokens": len(message.get(attribute + "_tokens")),
        "sequence": list(sequence.features.shape),
        "sequence_nonzero": int((abs(sequence.features).sum(axis=1) > 0).sum()),
        "sentence": sentence.features[0].tolist(),
    }

featurizer = build(batch_size=4)
out = {}
messages = [Message(data={"text": t}) for t in texts]
tokenizer.process(messages)
featurizer.process(messages)
out["process"] = [row(m) for m in messages]

training = TrainingData([Message(data={"text": t, "intent": "x"}) for t in texts]
                        + [Message(data={"action_text": "Your order ships today."})])
tokenizer.process_training_data(training)
build().process_training_data(training)
out["training"] = [row(m) for m in training.training_examples[:len(texts)]]
out["action_text"] = row(training.training_examples[-1], "action_text")["sequence"]

errors = {}
try:
    build(model_dir="no/such/dir")
except InvalidConfigException as e:
    errors["missing"] = str(e)
try:
    build(pooling="median")
except InvalidConfigException as e:
    errors["pooling"] = str(e)
try:
    build(fine_tune_layer_decay=1.5)
except InvalidConfigException as e:
    errors["layer_decay"] = str(e)
out["errors"] = errors

json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def engine_output() -> dict[str, Any]:
    result: dict[str, Any] = run_engine_script(SCRIPT, TEXTS, timeout=600)
    return result


@pytest.fixture(scope="module")
def reference() -> list[list[float]]:
    return nlu_export.reference_vectors(TEXTS)


@pytest.mark.parametrize("path", ["process", "training"])
def test_sentence_features_match_sentence_transformers(
    engine_output: dict[str, Any], reference: list[list[float]], path: str
) -> None:
    rows = engine_output[path]
    assert len(rows) == len(TEXTS)
    for row, want in zip(rows, reference, strict=True):
        assert len(row["sentence"]) == 384
        assert max(abs(a - b) for a, b in zip(row["sentence"], want, strict=True)) <= 1e-4


def test_sequence_features_have_one_row_per_token(engine_output: dict[str, Any]) -> None:
    for row in engine_output["process"] + engine_output["training"]:
        assert row["sequence"] == [row["tokens"], 384]
    short = engine_output["process"][:5]
    assert all(r["sequence_nonzero"] == r["tokens"] for r in short)
    # Tokens past the 256-wordpiece truncation have no hidden state: zero rows.
    long_text = engine_output["process"][5]
    assert 0 < long_text["sequence_nonzero"] < long_text["tokens"]


def test_action_text_is_featurized_in_training(engine_output: dict[str, Any]) -> None:
    assert engine_output["action_text"] == [4, 384]


def test_configuration_errors_are_clear(engine_output: dict[str, Any]) -> None:
    assert "make setup" in engine_output["errors"]["missing"]
    assert "pooling" in engine_output["errors"]["pooling"]
    layer_decay = engine_output["errors"]["layer_decay"]
    assert "'fine_tune_layer_decay' must be above 0 and at most 1" in layer_decay
