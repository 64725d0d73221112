"""Fine-tunes the MiniLM encoder for the engine, in the interpreter that has torch.

The engine (``.venv-rasa``, Python 3.10) has no torch, and must not: the CPU build lies
on this machine's disk for Python 3.11 only. ``MiniLMFeaturizer.train`` therefore hands
the intent examples to ``bot/nlu/finetune.py`` in ``.venv`` and gets back an ONNX export
like the packaged one, which ONNX Runtime then serves here.

Imports: the standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TRAINER_PYTHON = ROOT / ".venv" / "bin" / "python"


class EncoderTuningError(RuntimeError):
    """Fine-tuning could not run or did not finish; the message says what to do."""


@dataclass(frozen=True)
class TuningRequest:
    """What the featurizer's config asks of the fine-tuning run."""

    epochs: int
    learning_rate: float
    layer_decay: float
    batch_size: int
    max_length: int
    seed: int
    outlier_intent: str

    def arguments(self) -> list[str]:
        """The command-line options of ``bot.nlu.finetune``."""
        return [
            f"--epochs={self.epochs}",
            f"--learning-rate={self.learning_rate}",
            f"--layer-decay={self.layer_decay}",
            f"--batch-size={self.batch_size}",
            f"--max-length={self.max_length}",
            f"--seed={self.seed}",
            f"--outlier-intent={self.outlier_intent}",
        ]


def fine_tune_encoder(
    examples: Sequence[tuple[str, str]],
    out_dir: Path,
    request: TuningRequest,
    python: Path = DEFAULT_TRAINER_PYTHON,
) -> None:
    """Fine-tune on (text, intent) pairs and write the ONNX export into ``out_dir``.

    The child's progress lines go straight to this process's stderr, so ``rasa train``
    shows them as they come.
    """
    if not python.exists():
        raise EncoderTuningError(
            f"{python} is missing, and fine-tuning the sentence encoder needs torch from "
            f"it: run `make setup` in {ROOT}, or set `fine_tune_epochs: 0`."
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["HF_HUB_OFFLINE"] = "1"  # the model comes from the installed package, never a hub
    with tempfile.TemporaryDirectory(prefix="shopdesk-tuning-") as tmp:
        data = Path(tmp) / "examples.jsonl"
        with data.open("w", encoding="utf-8") as handle:
            for text, intent in examples:
                handle.write(json.dumps({"text": text, "intent": intent}) + "\n")
        command = [str(python), "-m", "bot.nlu.finetune", f"--data={data}", f"--out={out_dir}"]
        done = subprocess.run(  # noqa: S603 - the project's own interpreter and module
            [*command, *request.arguments()], cwd=ROOT, env=env, check=False
        )
    if done.returncode != 0:
        raise EncoderTuningError(
            f"fine-tuning the sentence encoder failed (exit {done.returncode}); "
            f"its messages are above."
        )
