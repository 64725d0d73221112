"""The ONNX export must give the engine the same vectors sentence-transformers gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.nlu import export as nlu_export

ROOT = Path(__file__).resolve().parents[3]
PROJECT_EXPORT = ROOT / "models" / "minilm"

pytestmark = pytest.mark.skipif(
    not nlu_export.ENGINE_PYTHON.exists(), reason="the engine's .venv-rasa is not set up"
)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's export when it is current (setup made it), else a fresh one."""
    if nlu_export.is_up_to_date(PROJECT_EXPORT):
        return PROJECT_EXPORT
    out = tmp_path_factory.mktemp("minilm")
    nlu_export.export_onnx(out)
    return out


def test_sample_sentences_cover_the_hard_cases() -> None:
    sentences = nlu_export.SAMPLE_SENTENCES
    assert len(sentences) >= 20
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in s) for s in sentences)
    assert any(ord(ch) > 0x1F000 for s in sentences for ch in s)  # emoji
    assert "?" in sentences
    assert max(len(s.split()) for s in sentences) > 256  # past the truncation


def test_onnx_matches_sentence_transformers(export_dir: Path) -> None:
    assert nlu_export.verify_export(export_dir, nlu_export.SAMPLE_SENTENCES) <= 1e-4


def test_onnx_vectors_are_unit_length_and_batch_independent(export_dir: Path) -> None:
    alone = nlu_export.onnx_vectors(export_dir, ["where is my order"])
    batched = nlu_export.onnx_vectors(
        export_dir, ["where is my order", "a much longer sentence " * 20]
    )
    assert abs(sum(x * x for x in alone[0]) - 1.0) < 1e-5
    assert max(abs(a - b) for a, b in zip(alone[0], batched[0], strict=True)) < 1e-5


def test_manifest_describes_the_export(export_dir: Path) -> None:
    manifest = json.loads((export_dir / "manifest.json").read_text())
    assert manifest["pooling"] == "mean"
    assert manifest["normalize"] is True
    assert manifest["max_seq_length"] == 256
    assert manifest["dimension"] == 384
    assert len(manifest["sha256"]) == 64
    tokenizer = json.loads((export_dir / "tokenizer.json").read_text())
    assert tokenizer["truncation"]["max_length"] == 256
    assert tokenizer["padding"]["strategy"] == "BatchLongest"


def test_export_is_skipped_when_current_and_redone_when_stale(
    export_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "minilm"
    shutil.copytree(export_dir, copy)
    before = (copy / "model.onnx").stat().st_mtime_ns
    assert nlu_export.is_up_to_date(copy)
    nlu_export.export_onnx(copy)
    assert (copy / "model.onnx").stat().st_mtime_ns == before

    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sha256"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert not nlu_export.is_up_to_date(copy)
    nlu_export.export_onnx(copy)
    assert nlu_export.is_up_to_date(copy)
    assert not list(copy.glob(".export-*"))  # the staging folder is gone
