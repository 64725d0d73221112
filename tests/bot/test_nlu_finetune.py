"""The fine-tuning child: what it accepts as examples, and how it batches them.

The training itself runs in ``tests/bot/engine/test_encoder_tuning.py``, through the
engine's featurizer, as ``rasa train`` runs it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bot import nlu_finetune


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_examples_are_read_in_order(tmp_path: Path) -> None:
    rows: list[object] = [
        {"text": "where is my order", "intent": "order_status"},
        {"text": "我想退货", "intent": "return_request"},
    ]
    examples = nlu_finetune.read_examples(_write(tmp_path / "ok.jsonl", rows))
    assert examples == [("where is my order", "order_status"), ("我想退货", "return_request")]


@pytest.mark.parametrize(
    ("rows", "complaint"),
    [
        ([{"text": "hi", "intent": "greet"}, "not json"], ":2: not JSON"),
        ([{"text": "", "intent": "greet"}], ':1: needs a non-empty "text"'),
        ([{"text": "hi"}], ':1: needs a non-empty "text" and an "intent"'),
        ([["hi", "greet"]], ':1: needs a non-empty "text"'),
        ([{"text": "hi", "intent": "greet"}, {"text": "hey", "intent": "greet"}], "two intents"),
    ],
)
def test_unusable_examples_are_refused_with_the_line(
    tmp_path: Path, rows: list[object], complaint: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        "\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows) + "\n"
    )
    with pytest.raises(nlu_finetune.ExampleError, match=complaint):
        nlu_finetune.read_examples(path)


def test_the_outlier_intent_does_not_count_as_one_of_the_two(tmp_path: Path) -> None:
    rows: list[object] = [
        {"text": "where is my order", "intent": "order_status"},
        {"text": "what is the weather", "intent": "out_of_scope"},
    ]
    path = _write(tmp_path / "one.jsonl", rows)
    assert len(nlu_finetune.read_examples(path)) == 2
    with pytest.raises(nlu_finetune.ExampleError, match="two intents"):
        nlu_finetune.read_examples(path, outlier_intent="out_of_scope")


def test_examples_are_pulled_to_their_intent_outliers_to_none() -> None:
    import torch  # .venv has it; the engine's interpreter does not import this module

    settings = nlu_finetune.TuningSettings()
    sure, unsure = torch.tensor([[9.0, 0.0, 0.0]]), torch.tensor([[1.0, 1.0, 1.0]])
    intent_0, outlier = torch.tensor([0]), torch.tensor([-1])

    def loss(logits: object, target: object, nonsense: object = None) -> float:
        return float(nlu_finetune.batch_loss(logits, target, nonsense, settings))

    assert loss(sure, intent_0) < loss(unsure, intent_0)
    assert loss(sure, outlier) > loss(unsure, outlier)
    # Nonsense is scored as the outlier intent's examples are.
    both = loss(torch.cat([sure, sure]), torch.tensor([0, -1]))
    assert loss(sure, intent_0, sure) == pytest.approx(both)


def test_the_command_exits_2_on_unusable_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _write(tmp_path / "one.jsonl", [{"text": "hi", "intent": "greet"}])
    assert nlu_finetune.main(["--data", str(data), "--out", str(tmp_path / "out")]) == 2
    assert "two intents" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_batches_cover_every_example_once_and_group_similar_lengths() -> None:
    rng = random.Random(7)
    lengths = [rng.randint(3, 60) for _ in range(1000)]
    batches = nlu_finetune.length_batches(lengths, 32, random.Random(1))
    assert sorted(i for batch in batches for i in batch) == list(range(1000))
    assert max(len(batch) for batch in batches) == 32
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    naive = sum(
        32 * max(lengths[i] for i in range(start, min(start + 32, 1000)))
        for start in range(0, 1000, 32)
    )
    assert padded < 0.6 * naive  # far less padding than batches in data order


def test_batch_order_changes_with_the_generator_state() -> None:
    lengths = list(range(200))
    rng = random.Random(3)
    first = nlu_finetune.length_batches(lengths, 16, rng)
    second = nlu_finetune.length_batches(lengths, 16, rng)
    assert first != second


def test_the_data_digest_names_content_and_labels() -> None:
    base = [("hi", "greet"), ("bye", "goodbye")]
    assert nlu_finetune.data_digest(base) == nlu_finetune.data_digest(list(base))
    assert nlu_finetune.data_digest(base) != nlu_finetune.data_digest([("hi", "bye"), base[1]])
    assert nlu_finetune.data_digest(base) != nlu_finetune.data_digest([("hey", "greet"), base[1]])
