"""The featurizer fine-tunes the encoder at training time and packs it into the model.

One child process in .venv-rasa trains the real component through Rasa's model storage
(which runs ``bot.nlu.finetune`` in .venv), loads it back as the engine would, and
prints what it saw; the checks happen here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.engine_python import RASA_PYTHON, run_engine_script

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(
    not RASA_PYTHON.exists() or not (ROOT / "models" / "minilm" / "model.onnx").exists(),
    reason="needs `make setup` (.venv-rasa and models/minilm)",
)

EXAMPLES = {
    "track": [
        "where is my parcel",
        "track my order please",
        "has my package shipped yet",
        "when will my delivery arrive",
        "what is the status of my order",
        "is my order on its way",
    ],
    "pay": [
        "can I pay with a credit card",
        "do you take paypal",
        "which payment methods do you accept",
        "can I pay cash on delivery",
        "is apple pay supported",
        "can I pay in instalments",
    ],
    "hello": ["hi", "hello there", "good morning", "hey", "hi shopdesk", "hello!"],
}
PROBES = ["where is my parcel", "do you take paypal", "good morning"]

SCRIPT = r"""
import json, sys
from pathlib import Path
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from bot.engine.minilm_featurizer import MiniLMFeaturizer

request = json.load(sys.stdin)
storage_path = Path(request["storage"])
storage = LocalModelStorage(storage_path)
context = ExecutionContext(graph_schema=None, node_name="minilm")
data = TrainingData(
    [Message(data={"text": t, "intent": i}) for i, ts in request["examples"].items() for t in ts]
)

def trained(name, **overrides):
    config = {**MiniLMFeaturizer.get_default_config(), **overrides}
    resource = Resource(name)
    MiniLMFeaturizer.create(config, storage, resource, context).train(data)
    loaded = MiniLMFeaturizer.load(config, storage, resource, context)
    return {
        "state": json.loads((storage_path / name / "encoder.json").read_text()),
        "files": sorted(p.name for p in (storage_path / name).iterdir()),
        "vectors": loaded.sentence_vectors(request["probes"]).tolist(),
        "texts": loaded.sentence_vectors(request["texts"]).tolist(),
    }

out = {
    "frozen": trained("frozen"),
    "tuned": trained("tuned", fine_tune_epochs=6, fine_tune_batch_size=6,
                     fine_tune_learning_rate=3e-4),
}
try:
    trained("broken", fine_tune_epochs=1, trainer_python="/no/such/python")
except RasaException as error:
    out["broken"] = str(error)
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    texts = [t for ts in EXAMPLES.values() for t in ts]
    request = {
        "storage": str(tmp_path_factory.mktemp("storage")),
        "examples": EXAMPLES,
        "probes": PROBES,
        "texts": texts,
    }
    result: dict[str, Any] = run_engine_script(SCRIPT, request, timeout=900)
    return result


def _margin(vectors: list[list[float]]) -> float:
    """Mean, over the examples, of cosine to their intent's centroid minus the best other."""
    matrix = np.asarray(vectors)
    labels = np.array([i for i, texts in enumerate(EXAMPLES.values()) for _ in texts])
    centroids = np.stack([matrix[labels == k].mean(axis=0) for k in range(len(EXAMPLES))])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    cosines = matrix @ centroids.T
    rows = np.arange(len(labels))
    own = cosines[rows, labels].copy()
    cosines[rows, labels] = -np.inf
    return float((own - cosines.max(axis=1)).mean())


def test_a_frozen_encoder_packs_nothing_but_its_state(trained: dict[str, Any]) -> None:
    assert trained["frozen"]["state"] == {"fine_tuned": False}
    assert trained["frozen"]["files"] == ["encoder.json"]


def test_a_tuned_encoder_travels_with_the_model(trained: dict[str, Any]) -> None:
    tuned = trained["tuned"]
    assert tuned["state"] == {"fine_tuned": True}
    assert {"model.onnx", "tokenizer.json", "manifest.json"} <= set(tuned["files"])
    frozen = np.asarray(trained["frozen"]["vectors"])
    # The loaded component serves the tuned encoder, not the packaged one.
    assert np.abs(np.asarray(tuned["vectors"]) - frozen).max() > 1e-2
    assert np.allclose(np.linalg.norm(tuned["vectors"], axis=1), 1.0, atol=1e-5)


def test_tuning_pulls_an_intents_examples_together(trained: dict[str, Any]) -> None:
    before = _margin(trained["frozen"]["texts"])
    after = _margin(trained["tuned"]["texts"])
    assert after > before + 0.1


def test_a_missing_trainer_interpreter_is_named(trained: dict[str, Any]) -> None:
    assert "/no/such/python" in trained["broken"]
    assert "make setup" in trained["broken"]
