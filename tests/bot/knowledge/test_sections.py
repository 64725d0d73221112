"""Answers quote the one section that answers the question, and name its article.

These run the real action on the real index: the section chosen, the title in the
attribution and the other sections left out are what the customer actually reads.
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import ActionAnswerFromKnowledge, button_payload
from bot.knowledge.articles import Section
from bot.knowledge.retriever import KnowledgeRetriever

from .conftest import KB_DIR


def _sections(article_id: str) -> dict[str, Section]:
    from bot.knowledge.articles import parse_article

    article = parse_article(KB_DIR / f"{article_id}.md")
    return {section.heading: section for section in article.sections}


async def _reply(retriever: KnowledgeRetriever, text: str) -> str:
    tracker = Tracker("c1", {}, {"text": text}, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge(retriever).run(dispatcher, tracker, {})
    messages: list[dict[str, Any]] = dispatcher.messages
    assert len(messages) == 1 and messages[0].get("text"), messages
    return str(messages[0]["text"])


@pytest.mark.parametrize(
    ("question", "article_id", "heading", "title"),
    [
        ("is it safe to touch the dry ice", "cold-chain-packaging", "Dry ice safety",
         "Cold-chain packaging"),
        ("how do I get my parcel out of the locker", "contactless-delivery",
         "Collecting from a parcel locker", "Contactless delivery"),
        ("can I cash out a gift card", "coupons-and-vouchers", "Gift cards",
         "Coupons and vouchers"),
    ],
)  # fmt: skip
async def test_a_question_gets_its_section_and_the_title_but_no_other_section(
    retriever: KnowledgeRetriever, question: str, article_id: str, heading: str, title: str
) -> None:
    sections = _sections(article_id)

    reply = await _reply(retriever, question)

    assert sections[heading].text in reply
    assert reply.startswith(f"{heading}:")
    assert reply.endswith(f"(From our help article “{title}”.)")
    others = [s.text for h, s in sections.items() if h != heading]
    assert not [text for text in others if text in reply]


async def test_a_general_question_gets_the_intro_alone(retriever: KnowledgeRetriever) -> None:
    sections = _sections("price-protection")

    reply = await _reply(retriever, "the price dropped after I bought it")

    assert reply == f"{sections[''].text}\n(From our help article “Price protection”.)"


async def test_a_pressed_title_gets_the_articles_opening_paragraph(
    retriever: KnowledgeRetriever,
) -> None:
    sections = _sections("cold-chain-packaging")

    reply = await _reply(retriever, button_payload("Cold-chain packaging"))

    assert reply.startswith(sections[""].text)
    assert "Dry ice" not in reply


def test_every_hit_carries_its_section_and_the_articles_summary(
    retriever: KnowledgeRetriever,
) -> None:
    for hit in retriever.search("the ice packs were water when the box arrived", top_k=5):
        sections = _sections(hit.id)
        assert hit.section in sections
        assert hit.answer == sections[hit.section].text
        assert hit.summary and sections[""].text.startswith(hit.summary)
