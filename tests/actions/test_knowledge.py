"""Knowledge-base answers: quote when sure, offer titles when unsure, admit when lost."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import ActionAnswerFromKnowledge, button_payload, fallbacks_in_a_row
from bot.knowledge.retriever import SearchHit

RETURNS = SearchHit("returns-policy", "Returns policy", 0.0, "Regular goods: 7 days.")
REFUNDS = SearchHit("refund-timeline", "When will I get my refund?", 0.0, "Card: 5 days.")
PRIVACY = SearchHit("data-privacy", "Privacy and your personal data", 0.0, "We keep little.")


class FixedSearch:
    """Scores chosen by the test, in place of the sentence encoder."""

    def __init__(self, *scored: tuple[SearchHit, float]) -> None:
        self.scored = scored
        self.queries: list[str] = []

    def search(self, query: str, *, top_k: int = 3) -> list[SearchHit]:
        self.queries.append(query)
        ranked = sorted(self.scored, key=lambda pair: -pair[1])[:top_k]
        return [SearchHit(hit.id, hit.title, score, hit.answer) for hit, score in ranked]


def _tracker(text: str) -> Tracker:
    return Tracker(
        "c1",
        {},
        {"text": text, "intent": {"name": "ask_policy"}},
        [],
        False,
        None,
        {},
        "action_listen",
    )


def _said(intent: str) -> dict[str, Any]:
    return {"event": "user", "text": "...", "parse_data": {"intent": {"name": intent}}}


LISTEN = {"event": "action", "name": "action_listen"}


def _with_events(events: list[dict[str, Any]]) -> Tracker:
    return Tracker("c1", {}, {}, events, False, None, {}, "action_listen")


def test_unclear_messages_are_counted_back_to_the_last_clear_one():
    said = [_said("nlu_fallback"), LISTEN, _said("greet"), LISTEN]
    said += [_said("nlu_fallback"), LISTEN, _said("nlu_fallback")]

    assert fallbacks_in_a_row(_with_events(said)) == 2


def test_a_message_the_engine_took_back_does_not_count_again():
    # The action failed, the engine rewound the turn, the gateway sent the message again.
    failed = [LISTEN, _said("nlu_fallback"), {"event": "action", "name": "action_x"}, LISTEN]
    retried = [{"event": "rewind"}, LISTEN, _said("nlu_fallback")]

    assert fallbacks_in_a_row(_with_events([_said("greet"), *failed, *retried])) == 1


async def _answer(search: FixedSearch, text: str) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFromKnowledge(search).run(dispatcher, _tracker(text), {})
    messages: list[dict[str, Any]] = dispatcher.messages
    return messages


async def test_a_confident_match_is_quoted_with_its_article():
    messages = await _answer(FixedSearch((RETURNS, 0.62), (REFUNDS, 0.40)), "can i send it back")

    assert messages[0]["text"] == (
        "Regular goods: 7 days.\n(From our help article “Returns policy”.)"
    )


async def test_a_near_tie_offers_the_titles_instead_of_guessing():
    search = FixedSearch((RETURNS, 0.50), (REFUNDS, 0.49), (PRIVACY, 0.30))

    messages = await _answer(search, "money back after sending it back?")

    buttons = messages[0]["buttons"]
    assert [b["title"] for b in buttons] == [
        "Returns policy",
        "When will I get my refund?",
        "Privacy and your personal data",
    ]
    assert buttons[1]["payload"] == 'What does your help article "When will I get my refund?" say?'


async def test_a_pressed_title_answers_that_article_even_if_another_scores_higher():
    search = FixedSearch((RETURNS, 0.70), (REFUNDS, 0.40))

    messages = await _answer(search, button_payload("When will I get my refund?"))

    assert messages[0]["text"].startswith("Card: 5 days.")


async def test_nothing_close_gets_the_honest_fallback():
    messages = await _answer(FixedSearch((PRIVACY, 0.12), (RETURNS, 0.10)), "qwx zzkv plom")

    assert messages[0]["response"] == "utter_default"


async def test_the_gateways_slash_guard_is_not_part_of_the_question():
    search = FixedSearch((RETURNS, 0.62))

    await _answer(search, "\u200b/returns?")

    assert search.queries == ["/returns?"]


class TopicSearch:
    """Confident only when the question names shipping: a short follow-up alone does not."""

    def search(self, query: str, *, top_k: int = 3) -> list[SearchHit]:
        score = 0.6 if "shipping" in query else 0.2
        return [SearchHit("shipping-times", "Shipping times", score, "CNY 8, free over 99.")]


def _follow_up(earlier: str, answered_by: str) -> Tracker:
    events = [
        {"event": "user", "text": earlier, "parse_data": {}},
        {"event": "action", "name": answered_by},
        LISTEN,
        {"event": "user", "text": "and is it free?", "parse_data": {}},
    ]
    latest = {"text": "and is it free?", "intent": {"name": "ask_policy"}}
    return Tracker("c1", {}, latest, events, False, None, {}, "action_listen")


async def test_a_short_follow_up_to_a_policy_answer_carries_its_topic(domain):
    dispatcher = CollectingDispatcher()
    tracker = _follow_up("how long does shipping take", "action_answer_from_knowledge")

    await ActionAnswerFromKnowledge(TopicSearch()).run(dispatcher, tracker, domain)

    assert dispatcher.messages[0]["text"].startswith("CNY 8, free over 99.")


async def test_no_topic_carries_over_from_a_message_the_knowledge_base_did_not_answer(domain):
    dispatcher = CollectingDispatcher()
    tracker = _follow_up("how long does shipping take", "action_show_order_status")

    await ActionAnswerFromKnowledge(TopicSearch()).run(dispatcher, tracker, domain)

    assert dispatcher.messages[0].get("response") == "utter_default"
