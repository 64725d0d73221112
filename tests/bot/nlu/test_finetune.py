"""The fine-tuning child: what it accepts as examples, and how it batches them.

The training itself runs in ``tests/bot/engine/test_encoder_tuning.py``, through the
engine's featurizer, as ``rasa train`` runs it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bot.engine.encoder_tuning import TuningRequest
from bot.nlu import finetune as nlu_finetune


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


def test_lower_layers_learn_at_decayed_rates() -> None:
    from transformers import BertConfig, BertModel

    tiny = BertModel(
        BertConfig(
            vocab_size=30,
            hidden_size=8,
            num_hidden_layers=3,
            num_attention_heads=2,
            intermediate_size=16,
        )
    )
    settings = nlu_finetune.TuningSettings(learning_rate=1e-4, layer_decay=0.5)
    groups = nlu_finetune.layer_rates(tiny, settings)
    names = [name for name, _ in tiny.named_parameters()]
    rates = {name: group["lr"] for name, group in zip(names, groups, strict=True)}
    assert rates["embeddings.word_embeddings.weight"] == pytest.approx(1e-4 * 0.5**3)
    assert rates["encoder.layer.0.attention.self.query.weight"] == pytest.approx(1e-4 * 0.5**2)
    assert rates["encoder.layer.2.output.dense.weight"] == pytest.approx(1e-4)
    assert rates["pooler.dense.weight"] == pytest.approx(1e-4)
    # Without decay every parameter learns at the one rate, as before.
    flat = nlu_finetune.layer_rates(tiny, nlu_finetune.TuningSettings(learning_rate=1e-4))
    assert {group["lr"] for group in flat} == {1e-4}


@pytest.mark.parametrize("decay", ["0", "1.2"])
def test_the_command_refuses_a_layer_decay_outside_0_to_1(
    decay: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        nlu_finetune.main(["--data", "x", "--out", str(tmp_path), f"--layer-decay={decay}"])
    assert exit_.value.code == 2
    assert "--layer-decay must be above 0 and at most 1" in capsys.readouterr().err


def test_the_command_reads_every_setting_the_featurizer_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = TuningRequest(
        epochs=2,
        learning_rate=1.5e-4,
        layer_decay=0.85,
        batch_size=8,
        max_length=32,
        seed=7,
        outlier_intent="out_of_scope",
    )
    assert "--layer-decay=0.85" in request.arguments()
    data = _write(tmp_path / "one.jsonl", [{"text": "hi", "intent": "greet"}])
    command = ["--data", str(data), "--out", str(tmp_path / "out"), *request.arguments()]
    # Exit 2 from the examples, not from argparse: every option was understood.
    assert nlu_finetune.main(command) == 2
    assert "two intents" in capsys.readouterr().err


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
