"""Fine-tune the packaged MiniLM encoder on a pipeline's intents, then export it to ONNX.

A frozen 22M-parameter sentence encoder under a classifier stays about three points short of a
fine-tuned BERT on public intent benchmarks: its vectors were trained for semantic
similarity, not to separate one shop's (or one bank's) intents. Fine-tuning it on the
training data closes that gap. It needs torch, which only ``.venv`` (Python 3.11) has,
so the engine's ``MiniLMFeaturizer`` runs this module in a child process while ``rasa
train`` trains it:

    .venv/bin/python -m bot.nlu.finetune --data examples.jsonl --out DIR [--epochs N ...]

``examples.jsonl`` holds one ``{"text": ..., "intent": ...}`` object per line. Training
is plain supervised fine-tuning with a cosine classifier: the mean-pooled, L2-normalised
sentence vector (the vector the featurizer computes) is compared with one learned unit
vector per intent, and cross-entropy over the scaled cosines pulls each sentence towards
its intent's direction. Made-up nonsense (``bot/nlu/nonsense.py``), and optionally the
examples of an outlier intent, are pushed to the same distance from every intent, so
that the fallback still catches what means nothing. The intent vectors are thrown away
afterwards: the pipeline's classifier learns its own on the tuned vectors.

``DIR`` then holds what ``bot/nlu/export.py`` writes for the packaged encoder
(``model.onnx``, ``tokenizer.json``, ``manifest.json``), plus ``reference.json``: the
vectors torch gives for a few sentences, which the featurizer checks its ONNX Runtime
against before it accepts the export.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.nlu import export as nlu_export
from bot.nlu import nonsense as nlu_nonsense
from bot.nlu.progress import ProgressBar

Example = tuple[str, str]
REFERENCE_FILE = "reference.json"


@dataclass(frozen=True)
class TuningSettings:
    """How the encoder is tuned; the featurizer passes its config's values."""

    epochs: int = 4
    learning_rate: float = 1e-4
    # Each layer below the top learns at this fraction of the rate of the layer above
    # (layer-wise rate decay): the lower layers hold the general language the intents'
    # few examples cannot teach, so they move least.
    layer_decay: float = 1.0
    batch_size: int = 32
    # Wordpieces kept per training sentence; intents are short, and padding costs time.
    max_length: int = 64
    seed: int = 42
    label_smoothing: float = 0.0
    # Logits are scale * cosine similarity: unit vectors need a temperature to train.
    scale: float = 20.0
    # Outliers are taught to sit as far from one intent as from any other: made-up
    # messages added to each batch (bot/nlu/nonsense.py), and optionally the examples
    # of an outlier intent (questions about something else), which then get no
    # direction of their own. Off by default: it lands nonsense on that intent instead
    # of the fallback (docs/architecture.md).
    nonsense_per_batch: int = 8
    outlier_intent: str = ""
    outlier_weight: float = 0.5


class ExampleError(ValueError):
    """The examples file cannot be trained on; the message names the line."""


def read_examples(path: Path, *, outlier_intent: str = "") -> list[Example]:
    """(text, intent) pairs from JSON Lines, refusing what training would choke on."""
    examples: list[Example] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise ExampleError(f"{path}:{number}: not JSON ({error})") from None
        text, intent = (row.get("text"), row.get("intent")) if isinstance(row, dict) else (0, 0)
        if not isinstance(text, str) or not text.strip() or not isinstance(intent, str):
            raise ExampleError(f'{path}:{number}: needs a non-empty "text" and an "intent"')
        examples.append((text, intent))
    if len({intent for _, intent in examples} - {outlier_intent}) < 2:
        raise ExampleError(f"{path}: fine-tuning needs examples of at least two intents")
    return examples


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length, in random order: far less padding than a plain shuffle.

    Indices are shuffled, sorted by length in windows of 50 batches (so each epoch
    groups differently), cut into batches, and the batches shuffled.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _mean_pooled(model: Any, batch: dict[str, Any]) -> Any:
    """The featurizer's sentence vector, in torch: masked mean, then L2 normalisation."""
    import torch

    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def batch_loss(
    logits: Any, targets: Any, nonsense_logits: Any | None, settings: TuningSettings
) -> Any:
    """Cross-entropy towards the intent for examples, towards no intent for outliers.

    An outlier (target -1: an example of the outlier intent, or made-up nonsense) is
    scored against the uniform distribution over the intents (outlier exposure), so
    that the encoder learns to leave what is about something else between the intents
    rather than near one of them.
    """
    import torch

    inliers = targets >= 0
    loss = logits.sum() * 0.0  # a batch may hold only outliers
    if bool(inliers.any()):
        loss = loss + torch.nn.functional.cross_entropy(
            logits[inliers], targets[inliers], label_smoothing=settings.label_smoothing
        )
    outliers = logits[~inliers]
    if nonsense_logits is not None:
        outliers = torch.cat([outliers, nonsense_logits])
    if len(outliers):
        loss = loss - settings.outlier_weight * outliers.log_softmax(-1).mean()
    return loss


def layer_rates(encoder: Any, settings: TuningSettings) -> list[dict[str, Any]]:
    """One optimiser group per parameter, its rate decayed by its depth below the top.

    The embeddings sit at depth 0, transformer layer ``i`` at ``i + 1``, and whatever
    follows the layers (the pooler) at the top, with the full rate.
    """
    top = int(encoder.config.num_hidden_layers)
    groups: list[dict[str, Any]] = []
    for name, parameter in encoder.named_parameters():
        if "encoder.layer." in name:
            depth = int(name.split("encoder.layer.")[1].split(".")[0]) + 1
        else:
            depth = 0 if "embeddings" in name else top
        rate = settings.learning_rate * settings.layer_decay ** (top - depth)
        groups.append({"params": [parameter], "lr": rate})
    return groups


def fine_tune(
    examples: Sequence[Example], settings: TuningSettings, log: Callable[[str], None]
) -> tuple[Any, Any]:
    """(encoder, tokenizer) after ``settings.epochs`` epochs over ``examples``."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    nlu_export.quiet_transformers()
    torch.manual_seed(settings.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    rng = random.Random(settings.seed)  # noqa: S311 - batch order, not secrets
    source = str(nlu_export.source_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(source)
    encoder = AutoModel.from_pretrained(source)
    intents = sorted({intent for _, intent in examples} - {settings.outlier_intent})
    # -1 marks an outlier: it has no direction of its own.
    labels = torch.tensor([intents.index(i) if i in intents else -1 for _, i in examples])
    texts = [text for text, _ in examples]
    known = nlu_nonsense.known_words(texts)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=512)["input_ids"]]
    # A cosine classifier: one unit prototype per intent, logits = scale * cosine. It
    # pulls each sentence towards its intent's direction, which is what the intent
    # classifier, the out-of-scope threshold and the knowledge base read from the vectors.
    prototypes = torch.nn.Parameter(0.05 * torch.randn(len(intents), encoder.config.hidden_size))
    optimiser = torch.optim.AdamW(
        [
            *layer_rates(encoder, settings),
            # A fresh layer learns from nothing: it needs a much larger step.
            {"params": [prototypes], "lr": settings.learning_rate * 20},
        ],
        weight_decay=0.01,
    )
    steps = settings.epochs * -(-len(examples) // settings.batch_size)
    warmup = max(1, int(0.06 * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, step / warmup) * max(0.0, (steps - step) / steps)
    )

    def encode(batch_texts: list[str]) -> Any:
        batch = tokenizer(
            batch_texts,
            padding=True,
            truncation=True,
            max_length=settings.max_length,
            return_tensors="pt",
        )
        return _mean_pooled(encoder, dict(batch))

    encoder.train()
    started = time.monotonic()
    batches_per_epoch = -(-len(lengths) // settings.batch_size)  # what length_batches cuts
    bar = ProgressBar(batches_per_epoch * settings.epochs, label="fine-tuning MiniLM")
    for epoch in range(1, settings.epochs + 1):
        total = 0.0
        for indices in length_batches(lengths, settings.batch_size, rng):
            directions = torch.nn.functional.normalize(prototypes, dim=-1)
            logits = settings.scale * encode([texts[i] for i in indices]) @ directions.T
            nonsense: list[str] = []
            if settings.nonsense_per_batch:
                nonsense = nlu_nonsense.nonsense(settings.nonsense_per_batch, rng, known=known)
            # Nonsense is a batch of its own: random letters are long in wordpieces, and
            # would pad every real sentence to their length.
            nonsense_logits = settings.scale * encode(nonsense) @ directions.T if nonsense else None
            loss = batch_loss(logits, labels[indices], nonsense_logits, settings)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            total += loss.item() * len(indices)
            bar.advance()
        log(
            f"fine-tuning MiniLM: epoch {epoch}/{settings.epochs}, "
            f"loss {total / len(examples):.3f}, {time.monotonic() - started:.0f} s"
        )
    encoder.eval()
    return encoder, tokenizer


def reference_vectors(encoder: Any, tokenizer: Any, sentences: Sequence[str]) -> list[list[float]]:
    """Torch's vectors for ``sentences``, tokenized as the export tokenizes (256 wordpieces)."""
    import torch

    max_length = int(nlu_export.expected_manifest()["max_seq_length"])
    out: list[list[float]] = []
    with torch.no_grad():
        for sentence in sentences:
            batch = tokenizer(
                [sentence],
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            out += _mean_pooled(encoder, dict(batch)).tolist()
    return out


def data_digest(examples: Sequence[Example]) -> str:
    """Names the training data in the manifest without copying it there."""
    digest = hashlib.sha256()
    for text, intent in examples:
        digest.update(f"{intent}\t{text}\n".encode())
    return digest.hexdigest()


def export(
    encoder: Any,
    tokenizer: Any,
    out_dir: Path,
    examples: Sequence[Example],
    settings: TuningSettings,
) -> None:
    """Write the tuned encoder as ``bot/nlu/export.py`` writes the packaged one."""
    manifest = nlu_export.expected_manifest()
    manifest["fine_tuned"] = {
        **asdict(settings),
        "examples": len(examples),
        "intents": len({intent for _, intent in examples}),
        "data_sha256": data_digest(examples),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shopdesk-tuned-") as tmp:
        encoder.save_pretrained(tmp)
        nlu_export.export_graph(out_dir / "model.onnx", Path(tmp))
    nlu_export.export_tokenizer(out_dir / "tokenizer.json", manifest["max_seq_length"])
    # A sentence the data trained on, beside the export's hard cases (long, CJK, emoji).
    sentences = [examples[0][0], *nlu_export.SAMPLE_SENTENCES]
    reference = {
        "sentences": sentences,
        "vectors": reference_vectors(encoder, tokenizer, sentences),
    }
    (out_dir / REFERENCE_FILE).write_text(json.dumps(reference))
    manifest["sha256"] = nlu_export.sha256_of(out_dir / "model.onnx")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for the featurizer's child process; exit 2 on unusable examples."""
    defaults = TuningSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, required=True, help="JSON Lines: text, intent")
    parser.add_argument("--out", type=Path, required=True, help="folder for the export")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument(
        "--layer-decay",
        type=float,
        default=defaults.layer_decay,
        help="rate of each layer relative to the one above (1: no decay)",
    )
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--max-length", type=int, default=defaults.max_length)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--outlier-intent",
        default=defaults.outlier_intent,
        help="intent whose examples favour no intent ('' for none)",
    )
    args = parser.parse_args(argv)
    settings = TuningSettings(
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        layer_decay=args.layer_decay,
        batch_size=args.batch_size,
        max_length=args.max_length,
        seed=args.seed,
        outlier_intent=args.outlier_intent,
    )
    if min(settings.epochs, settings.batch_size, settings.max_length) < 1:
        parser.error("--epochs, --batch-size and --max-length must be at least 1")
    if not 0 < settings.layer_decay <= 1:
        parser.error("--layer-decay must be above 0 and at most 1")
    try:
        examples = read_examples(args.data, outlier_intent=settings.outlier_intent)
    except (OSError, ExampleError) as error:
        print(f"nlu_finetune: {error}", file=sys.stderr)
        return 2
    encoder, tokenizer = fine_tune(examples, settings, lambda line: print(line, file=sys.stderr))
    export(encoder, tokenizer, args.out, examples, settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
