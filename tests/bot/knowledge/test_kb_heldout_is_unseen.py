"""The held-out knowledge-base questions stay held out, and both question sets stay sound.

The held-out figures only mean something if none of its questions was seen while
choosing the method: not in the tuning set, not in queries.yml (the older tuning
set), not in test_retriever.py's questions and not as an article's tag (tags are
indexed, so a question that is a tag would be matched to itself).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.evaluation.knowledge import HELD_OUT_SET, TUNING_SET, Question, load_questions
from bot.knowledge.articles import Article, load_articles
from tests.bot.knowledge.test_retriever import CUSTOMER_QUESTIONS, OFF_TOPIC

ROOT = Path(__file__).resolve().parents[3]
KB_DIR = ROOT / "knowledge_base"
OLD_QUERIES = Path(__file__).with_name("queries.yml")
MIN_QUESTIONS = 150
_NOT_WORD = re.compile(r"[^\w\s]")


def normalise(text: str) -> str:
    """`Where's my refund?` -> `where s my refund`: no case or punctuation."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


@pytest.fixture(scope="module")
def articles() -> dict[str, Article]:
    return {article.id: article for article in load_articles(KB_DIR)}


@pytest.fixture(scope="module")
def tuning() -> list[Question]:
    return load_questions(TUNING_SET)


@pytest.fixture(scope="module")
def held_out() -> list[Question]:
    return load_questions(HELD_OUT_SET)


def test_no_held_out_question_was_seen_while_tuning(
    tuning: list[Question], held_out: list[Question], articles: dict[str, Article]
) -> None:
    old = yaml.safe_load(OLD_QUERIES.read_text(encoding="utf-8"))
    seen = {normalise(q.query) for q in tuning}
    seen |= {normalise(item["query"]) for item in old}
    seen |= {normalise(question) for question, _ in CUSTOMER_QUESTIONS}
    seen |= {normalise(question) for question in OFF_TOPIC}
    seen |= {normalise(tag) for article in articles.values() for tag in article.tags}
    leaked = [q.query for q in held_out if normalise(q.query) in seen]
    assert not leaked, f"held-out questions seen while tuning: {leaked}"


@pytest.mark.parametrize("name", ["tuning", "held_out"])
def test_each_set_is_large_distinct_and_labelled_with_real_sections(
    name: str, articles: dict[str, Article], request: pytest.FixtureRequest
) -> None:
    questions: list[Question] = request.getfixturevalue(name)
    assert len(questions) >= MIN_QUESTIONS
    counts = Counter(normalise(q.query) for q in questions)
    assert not [text for text, count in counts.items() if count > 1]
    for question in questions:
        assert question.expected in articles, question
        headings = {section.heading for section in articles[question.expected].sections}
        assert question.section is None or question.section in headings, question


def test_the_held_out_set_asks_about_every_article(
    held_out: list[Question], articles: dict[str, Article]
) -> None:
    assert {q.expected for q in held_out} == set(articles)
