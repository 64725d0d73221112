"""Security review (issue 19) on Telegram, attacked through the real gateway: real
python-telegram-bot, a fake Bot API on loopback, a scripted engine, real SQLite and
PostgreSQL.

- A message is never lost between "update seen" and "message stored": the update id is
  claimed in the transaction that stores the message, a webhook call whose message
  could not be stored answers 500 (Telegram sends it again), and polling retries in
  the gateway.
- The webhook checks its secret before it reads a byte of the body, and a body it
  cannot use gets a clear 422.
- Customers are served in private chats only: in a group, one member's proof would
  link everyone in it.
- Each Telegram user has a message budget, and their conversations are recorded as
  theirs for the per-client proof limits.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.channels.engine import BotReply
from bot.channels.telegram import (
    NOT_TEXT_REPLY,
    PRIVATE_ONLY_REPLY,
    SECRET_HEADER,
    WEBHOOK_PATH,
    webhook_secret,
)
from bot.channels.telegram_text import HELP_TEXT
from bot.security.client_limits import RATE_LIMITED_REPLY
from bot.storage.accounts import claim_telegram_update
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.web.app import create_app
from tests.support.bot_api_rules import JSONDict
from tests.support.engines import ScriptedEngine
from tests.support.fake_telegram import FakeTelegram
from tests.support.telegram_gateway import telegram_settings, wait_for

CHAT = 7001  # a customer's private chat with the bot: the same number as their user id
OTHER = 7002
GROUP = -100_555_000_111
WEBHOOK_URL = "https://shop.example/telegram/webhook"
CHOICES = [{"title": "Yes, go ahead", "payload": "yes"}, {"title": "No", "payload": "no"}]
CUSTOMER_ID = 77
_update_ids = itertools.count(910_000)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def engine() -> ScriptedEngine:
    def answer(text: str) -> list[BotReply]:
        if text == "choose":
            return [BotReply("Shall I cancel it?", list(CHOICES))]  # type: ignore[arg-type]
        return [BotReply(f"echo: {text}")]

    def verifies(text: str) -> int | None:
        return CUSTOMER_ID if text == "my proof" else None

    return ScriptedEngine(answer=answer, verifies=verifies)


class FailingInserts:
    """Makes the gateway's next INSERTs into `messages` fail inside the database call,
    as a dropped connection or a full disk would, after whatever the same transaction
    wrote before."""

    _INSERT = re.compile(r'\s*INSERT INTO\s+("?\w+"?\.)?"?messages"?\s', re.IGNORECASE)

    def __init__(self, app: FastAPI) -> None:
        self.engine: sa.Engine = app.state.services.session_factory.kw["bind"]
        self.remaining = 0
        self.failed = 0
        self._lock = threading.Lock()
        sa.event.listen(self.engine, "before_cursor_execute", self._maybe_fail)

    def fail_next(self, times: int = 1) -> None:
        with self._lock:
            self.remaining = times

    def _maybe_fail(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not self._INSERT.match(statement):
            return
        with self._lock:
            if self.remaining <= 0:
                return
            self.remaining -= 1
            self.failed += 1
        raise sa.exc.OperationalError(statement, None, Exception("injected: disk I/O error"))


@dataclass
class Webhook:
    """The gateway in webhook mode, called as Telegram calls it."""

    client: TestClient
    secret: str
    app: FastAPI

    def post(self, update: JSONDict) -> httpx2.Response:
        update.setdefault("update_id", next(_update_ids))
        return self.client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: self.secret})


@pytest.fixture
def limits() -> dict[str, Any]:
    """Settings a test may change before it asks for the gateway."""
    return {}


@pytest.fixture
def webhook(
    database_url: str, telegram: FakeTelegram, engine: ScriptedEngine, limits: dict[str, Any]
) -> Iterator[Webhook]:
    settings = telegram_settings(database_url, telegram, telegram_webhook_url=WEBHOOK_URL, **limits)
    app = create_app(settings, engine=engine)
    with TestClient(app) as client:
        wait_for(lambda: app.state.telegram.application.running, "the Telegram channel")
        yield Webhook(client, webhook_secret(settings), app)


@pytest.fixture
def polling(database_url: str, telegram: FakeTelegram, engine: ScriptedEngine) -> Iterator[FastAPI]:
    app = create_app(telegram_settings(database_url, telegram), engine=engine)
    with TestClient(app):
        wait_for(lambda: telegram.calls("getUpdates"), "the gateway to poll")
        yield app


def _inbound(db: sa.Connection) -> list[str]:
    db.rollback()
    query = "SELECT text FROM messages WHERE direction = 'in' ORDER BY id"
    return [str(text) for text in db.execute(sa.text(query)).scalars()]


def _count(db: sa.Connection, table: str) -> int:
    db.rollback()
    return int(db.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _sticker(telegram: FakeTelegram, chat_id: int) -> JSONDict:
    update = telegram.text_update(chat_id, "x")
    del update["message"]["text"]
    update["message"]["sticker"] = {
        "file_id": "s1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    return update


def _button_press(webhook: Webhook, telegram: FakeTelegram) -> JSONDict:
    assert webhook.post(telegram.text_update(CHAT, "choose")).status_code == 200
    [question] = telegram.sent_messages(CHAT)
    markup = question.reply_markup or {}
    yes = markup["inline_keyboard"][0][0]["callback_data"]
    return telegram.callback_update(CHAT, question.message_id, yes)


# --- nothing lost between "seen" and "stored" ---


@pytest.mark.parametrize(
    ("kind", "stored", "reply"),
    [
        ("text", "where is it", "echo: where is it"),
        ("command", "/help", HELP_TEXT),
        ("sticker", "[non-text message]", NOT_TEXT_REPLY),
        ("button", "yes", "echo: yes"),
    ],
)
def test_a_message_whose_storing_failed_is_refused_and_taken_when_telegram_sends_it_again(
    webhook: Webhook,
    telegram: FakeTelegram,
    db: sa.Connection,
    kind: str,
    stored: str,
    reply: str,
) -> None:
    updates: dict[str, Callable[[], JSONDict]] = {
        "text": lambda: telegram.text_update(CHAT, "where is it"),
        "command": lambda: telegram.text_update(CHAT, "/help"),
        "sticker": lambda: _sticker(telegram, CHAT),
        "button": lambda: _button_press(webhook, telegram),
    }
    update = updates[kind]()
    before = len(telegram.sent_messages(CHAT))
    faults = FailingInserts(webhook.app)
    faults.fail_next()

    failed = webhook.post(update)
    resent = webhook.post(update)  # Telegram sends again what got an error
    duplicate = webhook.post(update)  # and, as it may, once more

    assert faults.failed == 1
    assert failed.status_code == 500
    assert "send it again" in failed.json()["detail"]
    assert (resent.status_code, duplicate.status_code) == (200, 200)
    assert _inbound(db).count(stored) == 1
    assert [m.text for m in telegram.sent_messages(CHAT)[before:]] == [reply]


def test_in_polling_mode_a_message_whose_storing_failed_is_retried_in_the_gateway(
    polling: FastAPI, telegram: FakeTelegram, engine: ScriptedEngine, db: sa.Connection
) -> None:
    faults = FailingInserts(polling)
    faults.fail_next(2)
    telegram.push_update(telegram.text_update(CHAT, "still there?"))

    [reply] = telegram.wait_for_messages(CHAT, 1)

    assert faults.failed == 2
    assert reply.text == "echo: still there?"
    assert _inbound(db) == ["still there?"]
    assert [call.text for call in engine.calls] == ["still there?"]


def test_in_polling_mode_an_update_that_never_stores_is_given_up_with_a_log_quoting_nothing(
    polling: FastAPI,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    db: sa.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # As `python -m bot.web` logs; Shopdesk's own loggers at every level.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.WARNING, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="bot")
    faults = FailingInserts(polling)
    faults.fail_next(1000)
    telegram.push_update(telegram.text_update(CHAT, "my phone is 13800138000"))

    wait_for(lambda: "gave up" in caplog.text, "the gateway to give up")

    assert 2 <= faults.failed <= 6  # a few attempts, not a loop
    assert "OperationalError" in caplog.text
    assert "13800138000" not in caplog.text
    assert engine.calls == []
    assert _inbound(db) == []


def test_an_update_claimed_in_a_transaction_that_failed_is_still_free(database_url: str) -> None:
    upgrade(database_url, schema="shopdesk")
    engine = make_engine(database_url)
    session_factory = make_session_factory(engine)
    with pytest.raises(RuntimeError), session_factory.begin() as session:
        assert claim_telegram_update(session, update_id=5)
        raise RuntimeError("storing the message failed")
    with session_factory.begin() as session:
        taken_after_failure = not claim_telegram_update(session, update_id=5)
    with session_factory.begin() as session:
        taken_again = not claim_telegram_update(session, update_id=5)
    engine.dispose()

    assert (taken_after_failure, taken_again) == (False, True)


# --- the webhook's door ---


@pytest.mark.parametrize("body", [b'{"update_id": 1', b"\xff\xfe", b'{"update_id": 1}'])
@pytest.mark.parametrize("secret", [None, "wrong"])
def test_the_webhook_checks_the_secret_before_it_reads_the_body(
    webhook: Webhook, engine: ScriptedEngine, body: bytes, secret: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret

    response = webhook.client.post(WEBHOOK_PATH, content=body, headers=headers)

    assert response.status_code == 403
    assert response.json() == {"detail": "wrong secret token"}
    assert engine.calls == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"update_id": 1',
        b"\xff\xfe",
        b"",
        b"[1, 2]",
        b'{"update_id": "12"}',
        b'{"update_id": true}',
        b'{"update_id": 5, "message": "hello"}',
        b'{"update_id": 6, "message": {"text": "no date, no chat"}}',
        b"[" * 50_000 + b"]" * 50_000,
    ],
)
def test_a_body_that_is_no_telegram_update_gets_a_clear_422(
    webhook: Webhook, engine: ScriptedEngine, db: sa.Connection, body: bytes
) -> None:
    headers = {SECRET_HEADER: webhook.secret, "Content-Type": "application/json"}

    response = webhook.client.post(WEBHOOK_PATH, content=body, headers=headers)

    assert response.status_code == 422
    assert response.json()["detail"] in (
        "body must be a Telegram update in JSON",
        "not a Telegram update",
    )
    assert engine.calls == []
    assert _count(db, "messages") == 0


# --- private chats only ---


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
def test_in_a_group_the_bot_asks_once_for_a_private_chat_and_stores_nothing(
    webhook: Webhook,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    db: sa.Connection,
    chat_type: Any,
) -> None:
    def said(user_id: int, text: str) -> JSONDict:
        return telegram.text_update(GROUP, text, user_id=user_id, chat_type=chat_type)

    answers = [
        webhook.post(said(CHAT, "/start")),
        webhook.post(said(CHAT, "where is my order 100234")),
        webhook.post(said(OTHER, "hello bot")),
        webhook.post(_sticker(telegram, GROUP)),
    ]

    assert [answer.status_code for answer in answers] == [200] * 4
    assert [m.text for m in telegram.sent_messages(GROUP)] == [PRIVATE_ONLY_REPLY]
    assert engine.calls == []
    for table in ("channel_accounts", "conversations", "messages"):
        assert _count(db, table) == 0, table


def test_a_button_pressed_in_a_group_is_answered_with_the_private_chat_request(
    webhook: Webhook, telegram: FakeTelegram, engine: ScriptedEngine, db: sa.Connection
) -> None:
    pressed = telegram.callback_update(GROUP, 12, "b:1:0", user_id=CHAT)

    assert webhook.post(pressed).status_code == 200

    [answered] = telegram.answered_callbacks()
    assert answered.text == PRIVATE_ONLY_REPLY
    assert engine.calls == []
    assert _count(db, "messages") == 0


def test_a_group_members_proof_does_not_link_another_member(
    webhook: Webhook, telegram: FakeTelegram, engine: ScriptedEngine, db: sa.Connection
) -> None:
    webhook.post(telegram.text_update(GROUP, "my proof", user_id=CHAT))
    webhook.post(telegram.text_update(GROUP, "where is my order", user_id=OTHER))
    webhook.post(telegram.text_update(OTHER, "where is my order"))

    [call] = engine.calls
    assert call.text == "where is my order"
    assert "linked_customer_id" not in call.metadata
    db.rollback()
    accounts = db.execute(sa.text("SELECT external_id, customer_id FROM channel_accounts"))
    assert [tuple(row) for row in accounts] == [(str(OTHER), None)]


def test_a_proof_in_a_private_chat_links_only_the_user_who_gave_it(
    webhook: Webhook, telegram: FakeTelegram, engine: ScriptedEngine, db: sa.Connection
) -> None:
    webhook.post(telegram.text_update(CHAT, "my proof"))
    webhook.post(telegram.text_update(CHAT, "and now?"))
    webhook.post(telegram.text_update(OTHER, "and me?"))

    linked = {call.text: call.metadata.get("linked_customer_id") for call in engine.calls}
    assert linked == {"my proof": None, "and now?": CUSTOMER_ID, "and me?": None}
    db.rollback()
    accounts = db.execute(
        sa.text("SELECT external_id, customer_id FROM channel_accounts ORDER BY id")
    )
    assert [tuple(row) for row in accounts] == [(str(CHAT), CUSTOMER_ID), (str(OTHER), None)]


# --- per-client limits ---


def test_a_telegram_conversation_is_counted_for_its_user(
    webhook: Webhook, telegram: FakeTelegram, engine: ScriptedEngine, db: sa.Connection
) -> None:
    webhook.post(telegram.text_update(CHAT, "hello"))

    db.rollback()
    [client] = db.execute(sa.text("SELECT client_key FROM conversations")).scalars()
    assert client == f"tg:{CHAT}"
    assert engine.calls[0].metadata["client"] == f"tg:{CHAT}"


@pytest.mark.parametrize(
    "limits", [{"client_messages_limit": 2, "client_messages_window_seconds": 2.0}]
)
def test_a_user_over_the_message_limit_is_told_once_and_nothing_more_is_taken(
    webhook: Webhook, telegram: FakeTelegram, engine: ScriptedEngine, db: sa.Connection
) -> None:
    updates = [telegram.text_update(CHAT, text) for text in ("one", "two", "three", "four")]
    answers = [webhook.post(update) for update in updates]
    webhook.post(telegram.text_update(OTHER, "someone else"))
    pressed = _press_first_button(webhook, telegram, OTHER)

    assert [answer.status_code for answer in answers] == [200] * 4
    assert [m.text for m in telegram.sent_messages(CHAT)] == [
        "echo: one",
        "echo: two",
        RATE_LIMITED_REPLY,
    ]
    assert pressed.status_code == 200
    assert [m.text for m in telegram.sent_messages(OTHER)] == [
        "echo: someone else",
        "Shall I cancel it?",
        RATE_LIMITED_REPLY,
    ]
    assert len(telegram.answered_callbacks()) == 1  # the press is acknowledged all the same

    time.sleep(2.1)  # the window has room again
    webhook.post(updates[2])  # a refused update sent again stays refused: it was claimed
    webhook.post(telegram.text_update(CHAT, "five"))

    assert _inbound(db) == ["one", "two", "someone else", "choose", "five"]
    assert [call.text for call in engine.calls] == ["one", "two", "someone else", "choose", "five"]
    assert telegram.sent_messages(CHAT)[-1].text == "echo: five"


def _press_first_button(webhook: Webhook, telegram: FakeTelegram, chat_id: int) -> httpx2.Response:
    """Asks for a question with buttons (the limit's last message) and presses one."""
    webhook.post(telegram.text_update(chat_id, "choose"))
    question = telegram.sent_messages(chat_id)[-1]
    data = (question.reply_markup or {})["inline_keyboard"][0][0]["callback_data"]
    return webhook.post(telegram.callback_update(chat_id, question.message_id, data))
