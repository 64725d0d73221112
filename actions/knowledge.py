"""Policy questions, and anything the intents miss, answered from the knowledge base.

The bot quotes the section of an article that answers the question, and names
the article, only when retrieval is confident; otherwise it offers the three
closest titles as buttons rather than guess, and when nothing is close it says
plainly what it can do. A pressed title gets the article's opening paragraph,
because the button says which article but not which part of it. A question about
the order the customer has proved ("can I get compensation for the wait?") is
answered about that order (actions/order_questions.py), not with the policy.
"""

from __future__ import annotations

import asyncio
import re
from typing import Protocol

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.order_questions import answer_order_question
from actions.verified import verified_orders
from bot.domain.handoff import HandoffReason, should_hand_off_after_fallbacks
from bot.domain.order_questions import order_question
from bot.knowledge.retriever import SearchHit, get_retriever, is_confident
from bot.settings import get_settings

ZERO_WIDTH_SPACE = "\u200b"  # the gateway's guard against "/intent" texts; not part of the question
WORTH_OFFERING = 0.25  # below this even the best title is unrelated: offer the main topics instead


class ArticleSearch(Protocol):
    def search(self, query: str, *, top_k: int = 3) -> list[SearchHit]: ...


BUTTON_PAYLOAD = re.compile(r'^What does your help article "(?P<title>.+)" say\?$')
EVERY_ARTICLE = 50  # more than the knowledge base holds


def button_payload(title: str) -> str:
    """What a title button sends back: a question the NLU is trained to read as ask_policy.

    The title alone would not do: "When will I get my refund?" reads as refund_status.
    """
    return f'What does your help article "{title}" say?'


def _chosen(question: str, search: ArticleSearch) -> SearchHit | None:
    """The article whose title button the customer pressed, if that is what this is."""
    pressed = BUTTON_PAYLOAD.match(question)
    if not pressed:
        return None
    hits = search.search(pressed.group("title"), top_k=EVERY_ARTICLE)
    return next((hit for hit in hits if hit.title == pressed.group("title")), None)


def _question(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "").replace(ZERO_WIDTH_SPACE, "").strip()


def fallbacks_in_a_row(tracker: Tracker) -> int:
    """How many of the customer's latest messages in a row the NLU could not place.

    Applied events only: a turn the engine took back (an action failed, and the gateway
    sends the message again later) must not count twice.
    """
    count = 0
    for event in reversed(tracker.applied_events()):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count


def previous_policy_question(tracker: Tracker) -> str | None:
    """The customer's previous message, if the knowledge base answered it: the topic a
    short follow-up ("and is it free?") leans on."""
    users = 0
    answered = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "action" and event.get("name") == "action_answer_from_knowledge":
            answered = users == 1
        elif kind == "user":
            users += 1
            if users == 2:
                text = str(event.get("text") or "").replace(ZERO_WIDTH_SPACE, "").strip()
                return text if answered and text and not BUTTON_PAYLOAD.match(text) else None
    return None


def section_text(hit: SearchHit) -> str:
    """The section as a reply: its heading leads, so a list or a short answer keeps its topic.

    A heading that is a question ("Can you send everything together?") reads as
    the question being answered; any other heading becomes a lead-in.
    """
    if not hit.section:
        return hit.answer
    if hit.section.endswith("?"):
        return f"{hit.section} {hit.answer}"
    separator = "\n" if hit.answer.startswith(("-", "*", "+")) else " "
    return f"{hit.section}:{separator}{hit.answer}"


def answer_text(hit: SearchHit) -> str:
    return f"{section_text(hit)}\n(From our help article “{hit.title}”.)"


def summary_text(hit: SearchHit) -> str:
    return f"{hit.summary or hit.answer}\n(From our help article “{hit.title}”.)"


class ActionAnswerFromKnowledge(Action):
    def __init__(self, retriever: ArticleSearch | None = None) -> None:
        self._retriever = retriever

    def name(self) -> str:
        return "action_answer_from_knowledge"

    def _load(self) -> ArticleSearch:
        return self._retriever or get_retriever(get_settings().knowledge_index_dir)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question, search = _question(tracker), self._load()
        about_order = order_question(question)
        if about_order and verified_orders(tracker):
            return await answer_order_question(about_order, dispatcher, tracker, domain)
        chosen = await asyncio.to_thread(_chosen, question, search)
        if chosen:
            dispatcher.utter_message(text=summary_text(chosen))
            return []
        hits = await asyncio.to_thread(lambda: search.search(question, top_k=3))
        earlier = previous_policy_question(tracker)
        if not is_confident(hits) and earlier:
            # "and is it free?" after "how long does shipping take": the topic carries over.
            joined = f"{earlier} {question}"
            carried = await asyncio.to_thread(lambda: search.search(joined, top_k=3))
            hits = carried if is_confident(carried) else hits
        if is_confident(hits):
            dispatcher.utter_message(text=answer_text(hits[0]))
        elif should_hand_off_after_fallbacks(services.policy(), fallbacks_in_a_row(tracker)):
            dispatcher.utter_message(
                text="Sorry, I'm still not getting what you need. Let me find you a person."
            )
            return [
                SlotSet("handoff_reason", HandoffReason.REPEATED_FALLBACK.value),
                FollowupAction("action_hand_off"),
            ]
        elif hits and hits[0].score >= WORTH_OFFERING:
            dispatcher.utter_message(
                text="I'm not sure which of these you mean. Pick one and I'll tell you more:",
                buttons=[{"title": h.title, "payload": button_payload(h.title)} for h in hits],
            )
        else:
            dispatcher.utter_message(response="utter_default")
        return []
