"""Knowledge-base retrieval on labelled questions: hit@1 and hit@3 on the tuning and held-out sets.

Runs in the app's interpreter: ``.venv/bin/python -m bot.evaluation.knowledge``.
The tuning set may be looked at while choosing methods and weights; the held-out
set is only ever measured (tests/bot/knowledge/test_kb_heldout_is_unseen.py keeps
it apart). A hit is article-level: the article that answers the question is
among the first k results, because the title and the section come with it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge.retriever import SearchHit

ROOT = Path(__file__).resolve().parents[2]
QUESTION_DIR = ROOT / "tests" / "bot" / "knowledge"
TUNING_SET = QUESTION_DIR / "tuning_set.yml"
HELD_OUT_SET = QUESTION_DIR / "heldout_set.yml"
TOP_K = 3

Search = Callable[[Sequence[str]], list[list[SearchHit]]]


@dataclass(frozen=True)
class Question:
    query: str
    expected: str  # article id
    section: str | None  # heading of the answering section, "" for the intro, None if unlabelled


@dataclass(frozen=True)
class Figures:
    """Shares of questions answered; `section_at_1` counts only questions with a section label."""

    questions: int
    hit_at_1: float
    hit_at_3: float
    section_at_1: float
    misses: tuple[tuple[str, str, str], ...]  # (query, expected, top-1) where top-1 was wrong


def load_questions(path: Path) -> list[Question]:
    """The labelled questions of one set; a malformed entry is an error, not a skip."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of questions")
    questions = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("query") or not entry.get("expected"):
            raise ValueError(f"{path}: every entry needs a query and an expected article: {entry}")
        section = entry.get("section")
        questions.append(Question(str(entry["query"]), str(entry["expected"]), section))
    return questions


def measure(search: Search, questions: Sequence[Question]) -> Figures:
    """hit@1, hit@3 and section@1 of `search` on `questions`."""
    results = search([question.query for question in questions])
    first = third = section_right = labelled = 0
    misses = []
    for question, hits in zip(questions, results, strict=True):
        ids = [hit.id for hit in hits[:TOP_K]]
        first += bool(ids) and ids[0] == question.expected
        third += question.expected in ids
        if ids and ids[0] != question.expected:
            misses.append((question.query, question.expected, ids[0]))
        if question.section is not None:
            labelled += 1
            top = hits[0] if hits else None
            section_right += bool(
                top and top.id == question.expected and top.section == question.section
            )
    count = max(len(questions), 1)
    return Figures(
        questions=len(questions),
        hit_at_1=first / count,
        hit_at_3=third / count,
        section_at_1=section_right / max(labelled, 1),
        misses=tuple(misses),
    )


def main() -> int:
    from bot.knowledge.commands import kb_build
    from bot.knowledge.retriever import KnowledgeRetriever
    from bot.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list the wrong top-1 answers")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shopdesk-kb-eval-") as out:
        count = kb_build(get_settings().knowledge_base_dir, Path(out))
        retriever = KnowledgeRetriever.load(Path(out))
        print(f"Knowledge base: {count} articles")
        print(f"{'set':<10} {'questions':>9} {'hit@1':>7} {'hit@3':>7} {'section@1':>10}")
        for name, path in (("tuning", TUNING_SET), ("held-out", HELD_OUT_SET)):
            figures = measure(retriever.search_many, load_questions(path))
            print(
                f"{name:<10} {figures.questions:>9} {figures.hit_at_1:>7.3f} "
                f"{figures.hit_at_3:>7.3f} {figures.section_at_1:>10.3f}"
            )
            for query, expected, got in figures.misses if args.misses else ():
                print(f"    {query!r}: expected {expected}, got {got}")
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
