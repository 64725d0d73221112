"""The desk learns a contact's topic from the real engine: the gateway asks for the intent
(`report_intent`) until it has one that is a topic, on the real stack."""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.ops_tables import DeskEvent
from tests.conversations.conftest import Chat
from tests.support.stack import Stack


def _events(stack: Stack, conversation_id: str) -> list[tuple[str, str | None]]:
    engine = sa.create_engine(stack.database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(DeskEvent.kind, DeskEvent.intent)
            .where(DeskEvent.conversation_id == conversation_id)
            .order_by(DeskEvent.id)
        )
        events = [(kind, intent) for kind, intent in rows]
    engine.dispose()
    return events


def test_a_greeting_is_no_topic_and_the_question_after_it_is(stack: Stack, chat: Chat) -> None:
    chat.say("hello")
    assert _events(stack, chat.id) == [("opened", None)]
    chat.say("where is my order?")
    chat.say("and how long do card refunds take?")
    assert _events(stack, chat.id) == [("opened", None), ("intent", "order_status")]
