"""Intent accuracy and per-intent F1 of the trained model on our held-out test set.

Runs in the engine's interpreter: ``.venv-rasa/bin/python -m bot.evaluation.heldout``.
The set in ``tests/nlu/test_set.yml`` is never trained on (a test checks that no
example also appears in ``data/nlu``). Rasa's own ``rasa test nlu`` does the
parsing; this reads its report and prints the figures we track.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


Report = dict[str, Any]  # intent -> {precision, recall, f1-score, support}; plus "accuracy"


def evaluate(model: Path, test_set: Path) -> Report:
    with tempfile.TemporaryDirectory(prefix="shopdesk-heldout-") as out:
        subprocess.run(  # noqa: S603 - our own rasa binary, arguments from argparse paths
            [
                str(Path(sys.executable).with_name("rasa")),
                "test",
                "nlu",
                "--model",
                str(model),
                "--nlu",
                str(test_set),
                "--out",
                out,
                "--no-plot",
                "--quiet",
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        report: Report = json.loads((Path(out) / "intent_report.json").read_text())
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "shopdesk.tar.gz")
    parser.add_argument("--test-set", type=Path, default=ROOT / "tests" / "nlu" / "test_set.yml")
    args = parser.parse_args()
    started = time.monotonic()
    report = evaluate(args.model, args.test_set)
    intents = sorted(
        name
        for name, row in report.items()
        if isinstance(row, dict)
        and "support" in row
        and name not in ("micro avg", "macro avg", "weighted avg")
    )
    print(f"Held-out set {args.test_set.relative_to(ROOT)} with {args.model.name}")
    print(f"{'intent':<18} {'F1':>6} {'precision':>10} {'recall':>7} {'n':>4}")
    for name in intents:
        row = report[name]
        print(
            f"{name:<18} {row['f1-score']:>6.3f} {row['precision']:>10.3f} "
            f"{row['recall']:>7.3f} {int(row['support']):>4}"
        )
    accuracy = float(report["accuracy"]) if "accuracy" in report else float("nan")
    macro = report.get("macro avg", {}).get("f1-score", float("nan"))
    print(
        f"\nintent accuracy {accuracy:.2%}   macro F1 {macro:.3f}   "
        f"({time.monotonic() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
