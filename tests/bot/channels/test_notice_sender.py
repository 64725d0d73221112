"""The notice sender inside the gateway: Telegram notices with their button (which works
after the conversation ends too), refusals, 429s, opt-outs, and web chat notices pushed
to an open page or shown at its next opening; with the fake Bot API and a scripted engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import WebSocketTestSession

from bot.channels import notice_sender
from bot.domain.notices import STOP_NOTICES, Occasion, PlannedNotice, Recipient
from bot.settings import Settings
from bot.storage import notices as outbox
from bot.storage.accounts import get_or_create_account, link_customer
from bot.storage.incidents import Author, declare_incident
from bot.storage.ops_tables import Notice
from bot.storage.tables import ChannelAccount, Conversation, Message, utc_now
from bot.web.app import create_app
from tests.bot.domain.test_incident_changes import DRAFT
from tests.support.engines import ScriptedEngine
from tests.support.fake_telegram import FakeTelegram
from tests.support.telegram_gateway import telegram_settings, wait_for

CHAT = 7101
CUSTOMER = 7


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


def _settings(database_url: str, telegram: FakeTelegram) -> Settings:
    return telegram_settings(
        database_url, telegram, notice_poll_seconds=0.1, queue_update_seconds=3600
    )


@pytest.fixture
def gateway(
    database_url: str,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(database_url, telegram), engine=engine)) as client:
        wait_for(lambda: telegram.calls("getUpdates"), "the gateway to poll the fake Bot API")
        yield client


def _notify_all(
    session_factory: sessionmaker[Session],
    channel: str,
    people: list[tuple[str, int]],
    *,
    opt_out: bool = False,
) -> list[int]:
    """Accounts linked to their customers and one batch with a notice to each, in one
    commit (as the engine writes it); returns the notices' ids."""
    with session_factory.begin() as session:
        incident = declare_incident(session, draft=DRAFT, author=Author("Mei"))
        planned = []
        for external_id, customer in people:
            account = get_or_create_account(
                session,
                channel=channel,  # type: ignore[arg-type]
                external_id=external_id,
            )
            link_customer(session, account_id=account.id, customer_id=customer)
            recipient = Recipient(customer, account.id, channel)
            planned.append(PlannedNotice(recipient, ("100245",), "Your order 100245 is late."))
            if opt_out:  # meanwhile: after the batch was planned, before it is sent
                outbox.set_opted_out(session, customer_id=customer, opted_out=True)
        outbox.create_batch(
            session, incident_id=incident.id, occasion=Occasion.DECLARED, author=Author("Mei"),
            notices=planned,
        )  # fmt: skip
        session.flush()
        return list(session.scalars(sa.select(Notice.id).order_by(Notice.id)))[-len(people) :]


def _notify(
    session_factory: sessionmaker[Session],
    channel: str,
    external_id: str,
    customer: int = CUSTOMER,
    *,
    opt_out: bool = False,
) -> int:
    [notice_id] = _notify_all(session_factory, channel, [(external_id, customer)], opt_out=opt_out)
    return notice_id


def _notice(session_factory: sessionmaker[Session], notice_id: int) -> Notice:
    with session_factory() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        return notice


def _settled(session_factory: sessionmaker[Session], notice_id: int) -> Notice:
    wait_for(
        lambda: _notice(session_factory, notice_id).state in ("sent", "failed", "skipped"),
        "the notice to be sent or given up",
    )
    return _notice(session_factory, notice_id)


def test_a_telegram_notice_comes_with_a_button_that_stops_notices_even_later(
    gateway: TestClient,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
) -> None:
    notice_id = _notify(session_factory, "telegram", str(CHAT))

    [sent] = telegram.wait_for_messages(CHAT, 1)
    notice = _settled(session_factory, notice_id)

    assert sent.text == "Your order 100245 is late."
    assert sent.reply_markup is not None
    [[button]] = sent.reply_markup["inline_keyboard"]
    assert button["text"] == STOP_NOTICES
    assert notice.state == "sent" and notice.message_id is not None
    with session_factory() as session:
        stored = session.get(Message, notice.message_id)
        assert stored is not None
        assert (stored.delivery_state, stored.external_id) == ("delivered", str(sent.message_id))

    telegram.push_update(telegram.callback_update(CHAT, sent.message_id, button["callback_data"]))
    wait_for(lambda: engine.calls, "the button's choice to reach the engine")
    with session_factory.begin() as session:  # the conversation ends; the button stays good
        conversation = session.get(Conversation, stored.conversation_id)
        assert conversation is not None
        conversation.closed_at = utc_now()
    telegram.push_update(telegram.callback_update(CHAT, sent.message_id, button["callback_data"]))
    wait_for(lambda: len(engine.calls) == 2, "the later press to reach the engine")

    assert [call.text for call in engine.calls] == [STOP_NOTICES, STOP_NOTICES]
    assert engine.calls[0].metadata["notice_customer_id"] == CUSTOMER
    assert engine.calls[1].conversation_id != stored.conversation_id


def test_a_chat_that_blocked_the_bot_fails_at_once_without_a_retry(
    gateway: TestClient, telegram: FakeTelegram, session_factory: sessionmaker[Session]
) -> None:
    telegram.fail_next("sendMessage", status=403)
    notice_id = _notify(session_factory, "telegram", str(CHAT))

    notice = _settled(session_factory, notice_id)
    time.sleep(0.5)  # long enough for a retry, had there been one

    assert (notice.state, notice.error, notice.attempts) == ("failed", "Forbidden", 1)
    assert len(telegram.calls("sendMessage")) == 1
    with session_factory() as session:  # it never reached the customer
        assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_telegrams_retry_after_is_waited_out_and_the_notice_sent_once(
    gateway: TestClient, telegram: FakeTelegram, session_factory: sessionmaker[Session]
) -> None:
    telegram.fail_next("sendMessage", status=429, retry_after=1)
    started = time.monotonic()
    notice_id = _notify(session_factory, "telegram", str(CHAT))

    [sent] = telegram.wait_for_messages(CHAT, 1)
    notice = _settled(session_factory, notice_id)

    assert notice.state == "sent"
    assert len(telegram.calls("sendMessage")) == 2  # the refused one and the one that went
    assert sent.text == "Your order 100245 is late."
    assert time.monotonic() - started >= 1.0


def test_a_customer_who_opted_out_meanwhile_is_skipped(
    gateway: TestClient, telegram: FakeTelegram, session_factory: sessionmaker[Session]
) -> None:
    notice_id = _notify(session_factory, "telegram", str(CHAT), opt_out=True)

    notice = _settled(session_factory, notice_id)

    assert notice.state == "skipped"
    assert telegram.calls("sendMessage") == []


def _session_id(token: str) -> str:
    return token.split(".")[1]


def _frames_until_pong(socket: WebSocketTestSession) -> list[dict[str, Any]]:
    """What the page was sent before its ping was answered: a missing frame fails the
    test instead of blocking it."""
    socket.send_json({"type": "ping"})
    frames: list[dict[str, Any]] = []
    while (frame := socket.receive_json())["type"] != "pong":
        frames.append(frame)
    return frames


def test_a_web_chat_notice_reaches_an_open_page_at_once(
    gateway: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with gateway.websocket_connect("/ws/chat") as socket:
        socket.send_json({"type": "hello", "session": None, "last_seen": 0})
        welcome = socket.receive_json()
        notice_id = _notify(session_factory, "webchat", _session_id(welcome["session"]))
        notice = _settled(session_factory, notice_id)
        time.sleep(0.3)  # the push follows the commit that marked it sent
        [frame] = _frames_until_pong(socket)

    assert notice.state == "sent"
    assert frame["type"] == "message"
    assert frame["message"]["text"] == "Your order 100245 is late."
    assert frame["message"]["buttons"] == [{"title": STOP_NOTICES, "payload": STOP_NOTICES}]


def test_a_web_chat_notice_shows_when_the_page_opens_next_even_in_a_new_conversation(
    gateway: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with gateway.websocket_connect("/ws/chat") as socket:
        socket.send_json({"type": "hello", "session": None, "last_seen": 0})
        welcome = socket.receive_json()
    notice_id = _notify(session_factory, "webchat", _session_id(welcome["session"]))
    notice = _settled(session_factory, notice_id)
    with session_factory.begin() as session:  # the conversation went idle meanwhile
        conversation = session.get(Conversation, welcome["conversation_id"])
        assert conversation is not None
        conversation.closed_at = utc_now()

    with gateway.websocket_connect("/ws/chat") as socket:
        socket.send_json({"type": "hello", "session": welcome["session"], "last_seen": 0})
        again = socket.receive_json()
        frames = _frames_until_pong(socket)

    assert notice.state == "sent"
    assert again["conversation_id"] != welcome["conversation_id"]
    assert [frame["type"] for frame in frames] == ["conversation", "message"]
    assert frames[1]["message"]["text"] == "Your order 100245 is late."
    with session_factory() as session:
        accounts = session.scalars(sa.select(ChannelAccount)).all()
        assert [account.customer_id for account in accounts] == [CUSTOMER]


def test_while_telegram_is_down_one_notice_probes_it_and_the_rest_wait(
    database_url: str,
    telegram: FakeTelegram,
    engine: ScriptedEngine,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notice_sender, "FIRST_BACKOFF_SECONDS", 0.1)
    monkeypatch.setattr(notice_sender, "LONGEST_BACKOFF_SECONDS", 0.2)
    settings = _settings(database_url, telegram).model_copy(update={"notice_max_attempts": 20})
    chats = [CHAT + n for n in range(10)]
    telegram.fail_next("sendMessage", status=502, times=10_000)  # Telegram is down

    with TestClient(create_app(settings, engine=engine)):
        wait_for(lambda: telegram.calls("getUpdates"), "the gateway to poll the fake Bot API")
        people = [(str(chat), 100 + n) for n, chat in enumerate(chats)]
        ids = _notify_all(session_factory, "telegram", people)

        def tried() -> list[int]:
            return [call["chat_id"] for call in telegram.calls("sendMessage")]

        wait_for(lambda: len(tried()) >= len(chats) + 3, "each chat tried, then a few more")
        telegram.recover("sendMessage")
        notices = [_settled(session_factory, notice_id) for notice_id in ids]

    failed = tried()[: -len(chats)]  # the last ten went through
    # Every notice under way when Telegram went down was tried once, then only one.
    round_one = {chat: failed.index(chat) for chat in chats}
    probes = [chat for index, chat in enumerate(failed) if index not in round_one.values()]
    assert [notice.state for notice in notices] == ["sent"] * len(chats)
    assert len(probes) >= 3 and len(set(probes)) == 1
    attempts = {int(chat): n.attempts for (chat, _), n in zip(people, notices, strict=True)}
    assert attempts.pop(probes[0]) == 1 + len(probes) + 1
    assert list(attempts.values()) == [2] * (len(chats) - 1)
