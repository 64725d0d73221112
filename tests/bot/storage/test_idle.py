"""The idle timeout's one rule, on SQLite and PostgreSQL: a conversation whose customer
still waits for an answer (a message kept while the engine was down) is not idle, on any
channel, so the answer is not hidden in a conversation that was closed meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.relay import ENGINE_DOWN_REPLY
from bot.settings import Settings
from bot.storage.accounts import current_conversation, get_or_create_account
from bot.storage.conversations import add_message, mark_delivery
from bot.storage.tables import Conversation, DeliveryState, utc_now
from bot.web.app import create_app
from tests.support.engines import ScriptedEngine

IDLE = timedelta(minutes=30)


def _telegram_conversation_with(
    session_factory: sessionmaker[Session], delivery_state: DeliveryState
) -> str:
    """A Telegram conversation whose one customer message is in `delivery_state`, an hour
    ago, when the customer was last heard from."""
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="telegram", external_id="42")
        conversation = current_conversation(session, account=account, idle_after=IDLE).conversation
        message = add_message(
            session,
            conversation_id=conversation.id,
            direction="in",
            sender="customer",
            text="where is my parcel?",
            channel="telegram",
            delivery_state="received",
        )
        mark_delivery(session, message_id=message.id, delivery_state=delivery_state)
        conversation.last_activity_at = utc_now() - timedelta(hours=1)
        return conversation.id


def _come_back(session_factory: sessionmaker[Session]) -> tuple[str, bool]:
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="telegram", external_id="42")
        current = current_conversation(session, account=account, idle_after=IDLE)
        return current.conversation.id, current.started


@pytest.mark.parametrize("delivery_state", ["pending", "received"])
def test_a_conversation_owing_an_answer_is_kept_when_the_customer_comes_back(
    session_factory: sessionmaker[Session], delivery_state: DeliveryState
) -> None:
    conversation_id = _telegram_conversation_with(session_factory, delivery_state)

    again, started = _come_back(session_factory)

    assert (again, started) == (conversation_id, False)
    with session_factory() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.closed_at is None


def test_an_answered_conversation_still_times_out(session_factory: sessionmaker[Session]) -> None:
    conversation_id = _telegram_conversation_with(session_factory, "processed")

    again, started = _come_back(session_factory)

    assert again != conversation_id and started
    with session_factory() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.close_reason == "idle"


def test_the_chat_api_answers_a_kept_message_after_an_outage_longer_than_the_idle_time(
    database_url: str,
) -> None:
    engine = ScriptedEngine(down=True)
    settings = Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        conversation_idle_minutes=30,
        replay_interval_seconds=3600,  # the replayer stays out of the way: the request answers
    )
    with TestClient(create_app(settings, engine=engine)) as client:
        started = client.post("/api/conversations").json()
        url = f"/api/conversations/{started['id']}/messages"
        auth = {"Authorization": f"Bearer {started['token']}"}
        kept = client.post(url, json={"text": "where is my parcel?"}, headers=auth)
        db = sa.create_engine(database_url)
        with db.begin() as connection:
            connection.execute(
                sa.text("UPDATE conversations SET last_activity_at = :t"),
                {"t": datetime.now(UTC) - timedelta(hours=1)},
            )
        db.dispose()
        engine.down = False

        later = client.post(url, json={"text": "hello?"}, headers=auth)

    assert [m["text"] for m in kept.json()["messages"]] == [ENGINE_DOWN_REPLY]
    assert later.status_code == 200, later.json()
    assert [m["text"] for m in later.json()["messages"]] == [
        "echo: where is my parcel?",
        "echo: hello?",
    ]
