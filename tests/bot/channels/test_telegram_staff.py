"""/link CODE and /unlink on Telegram: real python-telegram-bot in the gateway, the fake Bot
API on loopback, a scripted engine. The code comes from the console's own route."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram_staff import LINK_REFUSED, LINK_USAGE, NOT_LINKED, UNLINKED
from bot.handoff.agents import disable
from bot.handoff.passwords import hash_password
from bot.storage.db import make_engine, make_session_factory
from bot.storage.ops_tables import StaffChatLink
from bot.storage.tables import Agent, Conversation, Message
from bot.web.app import create_app
from tests.support.engines import ScriptedEngine
from tests.support.fake_telegram import FakeTelegram
from tests.support.telegram_gateway import telegram_settings, wait_for

PASSWORD = "correct horse battery"
MEI = 7001
STRANGER = 7002
LINKED = (
    "Linked: you're Mei Lin (ops) here. Ask me \"what's going on?\" or "
    '"which incidents are active?". Send /unlink to stop.'
)


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    database = make_engine(database_url)
    yield make_session_factory(database)
    database.dispose()


@pytest.fixture
def gateway(
    database_url: str,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> Iterator[TestClient]:
    settings = telegram_settings(database_url, telegram, queue_update_seconds=3600)
    with TestClient(create_app(settings, engine=engine)) as client:
        wait_for(lambda: telegram.calls("getUpdates"), "the gateway to poll the fake Bot API")
        with session_factory.begin() as session:
            session.add(
                Agent(
                    username="mei",
                    display_name="Mei Lin",
                    password_hash=_password_hash(),
                    role="ops",
                )
            )
        login = client.post("/api/console/login", json={"username": "mei", "password": PASSWORD})
        assert login.status_code == 200
        yield client


def _code(gateway: TestClient) -> str:
    answer = gateway.post("/api/console/telegram-link/code")
    assert answer.status_code == 201, answer.text
    code: str = answer.json()["code"]
    return code


def _send(telegram: FakeTelegram, chat: int, text: str) -> str:
    """What the bot answered to one more text in the chat."""
    before = len(telegram.sent_messages(chat))
    telegram.push_update(telegram.text_update(chat, text))
    return telegram.wait_for_messages(chat, before + 1)[-1].text


def _stored_texts(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as session:
        return [text or "" for text in session.scalars(sa.select(Message.text))]


def test_link_use_and_unlink_a_staff_chat(
    gateway: TestClient,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> None:
    code = _code(gateway)

    before = _send(telegram, MEI, "hello")
    linked = _send(telegram, MEI, f"/link {code}")
    as_staff = _send(telegram, MEI, "what's going on?")
    console_view = gateway.get("/api/console/telegram-link").json()
    unlinked = _send(telegram, MEI, "/unlink")
    as_customer = _send(telegram, MEI, "and now?")

    assert before == "echo: hello"
    assert as_staff == "echo: what's going on?"
    assert as_customer == "echo: and now?"
    assert linked == LINKED
    assert unlinked == UNLINKED
    assert console_view["linked"] is True
    assert [call.text for call in engine.calls] == ["hello", "what's going on?", "and now?"]
    roles = [call.metadata["role"] for call in engine.calls]
    assert roles == ["customer", "ops", "customer"]
    assert engine.calls[1].metadata["staff_name"] == "Mei Lin"
    assert "staff_id" not in engine.calls[2].metadata
    # The code is nowhere: not in the engine's input, not in the transcript.
    assert all(code not in call.text for call in engine.calls)
    assert not any(code in text for text in _stored_texts(session_factory))
    assert "/link [code hidden]" in _stored_texts(session_factory)
    assert gateway.get("/api/console/telegram-link").json()["linked"] is False


def test_a_code_works_once_and_a_wrong_one_gets_the_same_polite_answer(
    gateway: TestClient,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> None:
    code = _code(gateway)

    first = _send(telegram, MEI, f"/link {code}")
    again = _send(telegram, STRANGER, f"/link {code}")
    made_up = _send(telegram, STRANGER, "/link ABCDEFGH")
    nonsense = _send(telegram, STRANGER, "/link hello there")
    bare = _send(telegram, STRANGER, "/link")
    stranger_asks = _send(telegram, STRANGER, "which incidents are active?")

    assert first == LINKED
    assert again == made_up == nonsense == LINK_REFUSED
    assert bare == LINK_USAGE
    assert engine.calls[-1].metadata["role"] == "customer"
    assert stranger_asks == "echo: which incidents are active?"
    assert [call.text for call in engine.calls] == ["which incidents are active?"]
    with session_factory() as session:
        links = session.scalars(sa.select(StaffChatLink.external_id)).all()
    assert links == [str(MEI)]


def test_failed_codes_pause_linking_in_that_chat(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine
) -> None:
    answers = [_send(telegram, STRANGER, f"/link WRONG{n:03d}") for n in range(5)]
    code = _code(gateway)

    paused = _send(telegram, STRANGER, f"/link {code}")
    elsewhere = _send(telegram, MEI, f"/link {code}")

    assert answers == [LINK_REFUSED] * 5
    assert paused.startswith("Too many codes from this chat didn't work. Please wait 15 minutes")
    assert elsewhere == LINKED  # the pause did not spend the code
    assert engine.calls == []


def test_a_command_typed_without_its_mark_still_never_reaches_the_engine(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine
) -> None:
    code = _code(gateway)

    linked = _send(telegram, MEI, f"  /LINK {code.lower()}")
    unlinked = _send(telegram, MEI, " /unlink")
    not_linked = _send(telegram, MEI, "/unlink")

    assert (linked, unlinked, not_linked) == (LINKED, UNLINKED, NOT_LINKED)
    assert engine.calls == []


def test_a_group_cannot_be_linked(
    gateway: TestClient, telegram: FakeTelegram, engine: ScriptedEngine
) -> None:
    code = _code(gateway)
    group = -100500

    telegram.push_update(telegram.text_update(group, f"/link {code}", user_id=MEI))
    [answer] = telegram.wait_for_messages(group, 1)
    linked = _send(telegram, MEI, f"/link {code}")

    assert answer.text.startswith("I can only help you in a private chat")
    assert linked == LINKED  # the group's try took nothing
    assert engine.calls == []


def test_linking_starts_a_new_conversation_which_is_no_customer_contact(
    gateway: TestClient,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> None:
    _send(telegram, MEI, "hello")
    _send(telegram, MEI, f"/link {_code(gateway)}")
    _send(telegram, MEI, "what's going on?")

    first, second = (call.conversation_id for call in engine.calls)
    with session_factory() as session:
        old = session.get(Conversation, first)
        new = session.get(Conversation, second)
    assert old is not None and new is not None
    assert old.closed_at is not None and old.close_reason == "staff_link"
    assert old.staff_id is None
    assert new.closed_at is None and new.staff_id is not None


def test_unlinking_in_the_console_or_disabling_counts_from_the_next_message(
    gateway: TestClient,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> None:
    _send(telegram, MEI, f"/link {_code(gateway)}")
    _send(telegram, MEI, "one")
    assert gateway.delete("/api/console/telegram-link").status_code == 204
    _send(telegram, MEI, "two")
    _send(telegram, MEI, f"/link {_code(gateway)}")
    _send(telegram, MEI, "three")
    with session_factory.begin() as session:
        disable(session, username="mei")
    _send(telegram, MEI, "four")

    roles = [(call.text, call.metadata["role"]) for call in engine.calls]
    assert roles == [("one", "ops"), ("two", "customer"), ("three", "ops"), ("four", "customer")]
    assert not {"staff_id", "staff_name"} & set(engine.calls[3].metadata)
