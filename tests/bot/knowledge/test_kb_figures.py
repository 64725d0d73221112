"""Retrieval figures on the fixed question sets, so a change that loses answers fails here.

The issue's targets on the held-out set are hit@1 >= 0.95 and hit@3 >= 0.99. The
chosen method (docs/knowledge-base.md) reaches 0.875 and 0.988 with the packaged
MiniLM; these tests hold it to what it reaches, a little under for float noise,
and name the targets so the gap stays visible.
"""

from __future__ import annotations

from bot.evaluation.knowledge import HELD_OUT_SET, TUNING_SET, load_questions, measure
from bot.knowledge.retriever import KnowledgeRetriever

TARGET_HIT_AT_1, TARGET_HIT_AT_3 = 0.95, 0.99  # issue 21; not reached yet
HELD_OUT_HIT_AT_1, HELD_OUT_HIT_AT_3 = 0.87, 0.98  # reached: 0.875 and 0.988
TUNING_HIT_AT_1, TUNING_HIT_AT_3 = 0.91, 0.975  # reached: 0.914 and 0.981


def test_the_held_out_set_reaches_the_figures_recorded(retriever: KnowledgeRetriever) -> None:
    figures = measure(lambda qs: retriever.search_many(qs), load_questions(HELD_OUT_SET))

    assert figures.questions >= 150
    assert figures.hit_at_1 >= HELD_OUT_HIT_AT_1, figures.misses
    assert figures.hit_at_3 >= HELD_OUT_HIT_AT_3, figures.misses
    assert HELD_OUT_HIT_AT_1 < TARGET_HIT_AT_1 and HELD_OUT_HIT_AT_3 < TARGET_HIT_AT_3


def test_the_tuning_set_reaches_the_figures_recorded(retriever: KnowledgeRetriever) -> None:
    figures = measure(lambda qs: retriever.search_many(qs), load_questions(TUNING_SET))

    assert figures.questions >= 150
    assert figures.hit_at_1 >= TUNING_HIT_AT_1, figures.misses
    assert figures.hit_at_3 >= TUNING_HIT_AT_3, figures.misses
