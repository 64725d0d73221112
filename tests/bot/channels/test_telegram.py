"""The Telegram channel: real python-telegram-bot in the gateway, a fake Bot API on loopback.

The engine is scripted here; tests/conversations/test_telegram.py holds a conversation
with the real one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.channels.engine import BotReply
from bot.channels.relay import ENGINE_DOWN_REPLY
from bot.channels.telegram import EXPIRED_BUTTON, NOT_TEXT_REPLY, SECRET_HEADER, webhook_secret
from bot.channels.telegram_text import HELP_TEXT
from bot.domain.handoff import HandoffPolicy, HandoffReason
from bot.handoff.agents import add_agent
from bot.handoff.desk import HandoffDesk, HandoffRequest
from bot.storage.db import make_engine, make_session_factory
from bot.storage.tables import Conversation
from bot.web.app import create_app
from tests.support.engines import ScriptedEngine
from tests.support.fake_telegram import FakeTelegram, SentMessage
from tests.support.telegram_gateway import telegram_settings, wait_for

CHAT = 7001
CHOICES = [{"title": "Yes, go ahead", "payload": "yes"}, {"title": "No", "payload": "no"}]
WEBHOOK_URL = "https://shop.example/telegram/webhook"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def engine() -> ScriptedEngine:
    def answer(text: str) -> list[BotReply]:
        if text == "long please":
            long_text = "\n\n".join(f"Part {i}. " + "detail " * 200 for i in range(8))
            return [BotReply(long_text, list(CHOICES))]  # type: ignore[arg-type]
        if text == "choose":
            return [BotReply("Shall I cancel it?", list(CHOICES))]  # type: ignore[arg-type]
        return [BotReply(f"echo: {text}")]

    return ScriptedEngine(answer=answer)


@pytest.fixture
def gateway(
    database_url: str, telegram: FakeTelegram, engine: ScriptedEngine
) -> Iterator[TestClient]:
    with TestClient(create_app(telegram_settings(database_url, telegram), engine=engine)) as client:
        wait_for(lambda: telegram.calls("getUpdates"), "the gateway to poll the fake Bot API")
        yield client


def _buttons(message: SentMessage) -> list[tuple[str, str]]:
    markup = message.reply_markup or {}
    return [
        (b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row
    ]


def _rows(db: sa.Connection) -> list[tuple[Any, ...]]:
    db.rollback()
    query = "SELECT direction, text, delivery_state, external_id FROM messages ORDER BY id"
    return [tuple(row) for row in db.execute(sa.text(query))]


def test_start_explains_what_the_bot_does_with_topic_buttons(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine
) -> None:
    telegram.push_update(telegram.text_update(CHAT, "/start"))

    [welcome] = telegram.wait_for_messages(CHAT, 1)

    assert welcome.text == HELP_TEXT
    assert [title for title, _ in _buttons(welcome)] == [
        "Where is my order?",
        "My order is late",
        "Return an item",
        "Where is my refund?",
    ]
    assert engine.calls == []


def test_a_text_is_stored_answered_and_marked_delivered(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine, db: sa.Connection
) -> None:
    telegram.push_update(telegram.text_update(CHAT, "hello there"))

    [reply] = telegram.wait_for_messages(CHAT, 1)
    time.sleep(0.2)  # the delivery mark follows Telegram's answer

    assert reply.text == "echo: hello there"
    assert engine.calls[0].metadata["channel"] == "telegram"
    assert _rows(db) == [
        ("in", "hello there", "processed", None),
        ("out", "echo: hello there", "delivered", str(reply.message_id)),
    ]


def test_an_update_sent_twice_is_handled_once(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine, db: sa.Connection
) -> None:
    update = telegram.text_update(CHAT, "only once")
    update["update_id"] = telegram.push_update(update)
    telegram.wait_for_messages(CHAT, 1)
    telegram.push_update(update)  # Telegram sending it again
    telegram.push_update(telegram.text_update(CHAT, "next"))

    sent = telegram.wait_for_messages(CHAT, 2)
    time.sleep(0.3)

    assert [m.text for m in telegram.sent_messages(CHAT)] == ["echo: only once", "echo: next"]
    assert [m.text for m in sent] == ["echo: only once", "echo: next"]
    assert [call.text for call in engine.calls] == ["only once", "next"]
    assert [row[1] for row in _rows(db) if row[0] == "in"] == ["only once", "next"]


def test_a_pressed_button_is_the_customers_choice(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine
) -> None:
    telegram.push_update(telegram.text_update(CHAT, "choose"))
    [question] = telegram.wait_for_messages(CHAT, 1)
    [(_, yes), _] = _buttons(question)

    telegram.push_update(telegram.callback_update(CHAT, question.message_id, yes))
    sent = telegram.wait_for_messages(CHAT, 2)

    assert sent[1].text == "echo: yes"
    assert [call.text for call in engine.calls] == ["choose", "yes"]
    assert len(telegram.answered_callbacks()) == 1
    # The used keyboard is taken away.
    edits = telegram.calls("editMessageReplyMarkup")
    assert [int(edit["message_id"]) for edit in edits] == [question.message_id]


@pytest.mark.parametrize("data", ["b:999999:0", "b:1:7", "nonsense", "b:x:y"])
def test_a_button_from_elsewhere_or_made_up_has_expired(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine, data: str
) -> None:
    telegram.push_update(telegram.text_update(CHAT, "choose"))
    [question] = telegram.wait_for_messages(CHAT, 1)
    engine.calls.clear()

    telegram.push_update(telegram.callback_update(CHAT + 1, question.message_id, data))
    deadline = time.monotonic() + 10
    while not telegram.answered_callbacks() and time.monotonic() < deadline:
        time.sleep(0.02)

    [answered] = telegram.answered_callbacks()
    assert answered.text == EXPIRED_BUTTON
    assert engine.calls == []


def test_a_429_is_waited_out_and_the_reply_sent_exactly_once(
    gateway: TestClient, telegram: FakeTelegram, db: sa.Connection
) -> None:
    telegram.fail_next("sendMessage", status=429, retry_after=1)
    telegram.push_update(telegram.text_update(CHAT, "busy?"))

    [reply] = telegram.wait_for_messages(CHAT, 1)
    time.sleep(0.3)

    assert reply.text == "echo: busy?"
    assert len(telegram.calls("sendMessage")) == 2  # refused once, then accepted
    assert [m.text for m in telegram.sent_messages(CHAT)] == ["echo: busy?"]
    assert _rows(db)[-1][2] == "delivered"


def test_a_reply_telegram_refuses_stays_queued_and_is_sent_again(
    gateway: TestClient, telegram: FakeTelegram, db: sa.Connection
) -> None:
    telegram.fail_next("sendMessage", status=500, description="Internal Server Error")
    telegram.push_update(telegram.text_update(CHAT, "are you there"))

    [reply] = telegram.wait_for_messages(CHAT, 1, timeout=20)
    time.sleep(0.3)

    assert reply.text == "echo: are you there"
    assert [m.text for m in telegram.sent_messages(CHAT)] == ["echo: are you there"]
    assert _rows(db)[-1][2] == "delivered"


def test_a_long_reply_is_split_and_the_buttons_ride_on_the_last_part(
    gateway: TestClient, telegram: FakeTelegram
) -> None:
    telegram.push_update(telegram.text_update(CHAT, "long please"))

    # Eight paragraphs of about 1,400 characters: two fit in one Telegram message.
    telegram.wait_for_messages(CHAT, 4)
    time.sleep(0.3)  # nothing more follows
    sent = telegram.sent_messages(CHAT)

    assert len(sent) == 4
    assert all(len(m.text.encode("utf-16-le")) // 2 <= 4096 for m in sent)
    assert sent[0].text.startswith("Part 0.")
    joined = " ".join(m.text for m in sent)
    assert all(f"Part {i}." in joined for i in range(8))
    assert [len(_buttons(m)) for m in sent] == [0] * (len(sent) - 1) + [2]


def test_a_sticker_gets_a_polite_request_for_text(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine
) -> None:
    update = telegram.text_update(CHAT, "x")
    message = update["message"]
    del message["text"]
    message["sticker"] = {
        "file_id": "s1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    telegram.push_update(update)

    [reply] = telegram.wait_for_messages(CHAT, 1)

    assert reply.text == NOT_TEXT_REPLY
    assert engine.calls == []


def test_a_message_kept_while_the_engine_was_down_is_answered_in_the_chat_later(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine
) -> None:
    engine.down = True
    telegram.push_update(telegram.text_update(CHAT, "hello?"))
    [apology] = telegram.wait_for_messages(CHAT, 1)

    engine.down = False
    sent = telegram.wait_for_messages(CHAT, 2, timeout=20)

    assert apology.text == ENGINE_DOWN_REPLY
    assert sent[1].text == "echo: hello?"


def test_the_webhook_takes_only_updates_carrying_the_secret(
    database_url: str, telegram: FakeTelegram, engine: ScriptedEngine, db: sa.Connection
) -> None:
    settings = telegram_settings(database_url, telegram, telegram_webhook_url=WEBHOOK_URL)
    with TestClient(create_app(settings, engine=engine)) as client:
        deadline = time.monotonic() + 15
        while not telegram.calls("setWebhook") and time.monotonic() < deadline:
            time.sleep(0.02)
        update = telegram.text_update(CHAT, "via webhook")
        update["update_id"] = 424242
        secret = webhook_secret(settings)

        refused = [
            client.post("/telegram/webhook", json=update),
            client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: "wrong"}),
        ]
        assert engine.calls == []
        taken = client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: secret})
        again = client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: secret})
        malformed = client.post("/telegram/webhook", json={"x": 1}, headers={SECRET_HEADER: secret})

    [registration] = telegram.calls("setWebhook")
    assert registration["url"] == WEBHOOK_URL
    assert registration["secret_token"] == secret
    assert [r.status_code for r in refused] == [403, 403]
    assert (taken.status_code, again.status_code, malformed.status_code) == (200, 200, 422)
    assert [call.text for call in engine.calls] == ["via webhook"]
    assert [m.text for m in telegram.sent_messages(CHAT)] == ["echo: via webhook"]
    assert telegram.calls("getUpdates") == []


def test_without_a_token_the_channel_does_not_start(
    database_url: str, telegram: FakeTelegram, engine: ScriptedEngine
) -> None:
    settings = telegram_settings(database_url, telegram, telegram_token=SecretStr(""))
    with TestClient(create_app(settings, engine=engine)) as client:
        time.sleep(0.5)
        webhook = client.post("/telegram/webhook", json={"update_id": 1})

    assert telegram.calls("getMe") == []
    assert webhook.status_code == 404


def test_a_telegram_customer_talks_with_an_agent_through_the_console(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine, database_url: str
) -> None:
    database = make_engine(database_url)
    session_factory = make_session_factory(database)
    with session_factory.begin() as session:
        add_agent(session, username="mei", display_name="Mei Chen", password="a long password")
    telegram.push_update(telegram.text_update(CHAT, "hello"))
    telegram.wait_for_messages(CHAT, 1)
    with session_factory() as session:
        conversation_id = session.scalars(sa.select(Conversation.id)).one()
    HandoffDesk(session_factory, HandoffPolicy()).request(
        HandoffRequest(
            conversation_id=conversation_id,
            reason=HandoffReason.CUSTOMER_ASKED,
            reason_detail="asked for a person",
            summary={},
            verified=False,
            affected_by_incident=False,
            order_value=None,
        ),
        active_incidents=0,
    )
    gateway.post("/api/console/login", json={"username": "mei", "password": "a long password"})
    [entry] = gateway.get("/api/console/queue").json()["waiting"]

    gateway.post(f"/api/console/handoffs/{entry['id']}/take")
    telegram.push_update(telegram.text_update(CHAT, "the box was wet"))
    gateway.post(f"/api/console/handoffs/{entry['id']}/messages", json={"text": "Sorry! Photo?"})
    sent = telegram.wait_for_messages(CHAT, 3)
    deadline = time.monotonic() + 15
    while True:  # the customer's update arrives by polling, in its own time
        detail = gateway.get(f"/api/console/handoffs/{entry['id']}").json()
        texts = [m["text"] for m in detail["transcript"]]
        if "the box was wet" in texts or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    database.dispose()

    assert [m.text for m in sent[1:]] == [
        "Mei Chen from our team has joined the chat.",
        "Sorry! Photo?",
    ]
    assert "the box was wet" in texts
    assert [call.text for call in engine.calls] == ["hello"]  # the agent had it, not the bot
