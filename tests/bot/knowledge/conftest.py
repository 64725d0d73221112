"""One index of the real knowledge base per test session: encoding it is the slow part."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.commands import kb_build
from bot.knowledge.retriever import KnowledgeRetriever

KB_DIR = Path(__file__).resolve().parents[3] / "knowledge_base"


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("knowledge-index")
    assert kb_build(KB_DIR, directory) == len(list(KB_DIR.glob("*.md")))
    return directory


@pytest.fixture(scope="session")
def retriever(index_dir: Path) -> KnowledgeRetriever:
    return KnowledgeRetriever.load(index_dir)
