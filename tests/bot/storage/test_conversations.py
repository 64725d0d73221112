"""Shopdesk's conversation storage and its migration, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.conversations import (
    add_message,
    create_conversation,
    get_conversation,
    list_messages,
    mark_delivered,
    mark_delivery,
    token_matches,
)
from bot.storage.migrate import alembic_config, upgrade
from bot.storage.tables import utc_now


def _table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_matches_the_tables_and_can_be_undone(database_url: str) -> None:
    upgrade(database_url, schema="shopdesk")
    upgrade(database_url, schema="shopdesk")  # a second run at head changes nothing

    config = alembic_config(database_url, schema="shopdesk")
    command.check(config)  # raises if the tables and the migrations disagree
    command.downgrade(config, "base")
    assert _table_names(database_url) == {"alembic_version"}


def test_only_the_token_hash_is_stored(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        conversation, token = create_conversation(session, channel="api")
        conversation_id = conversation.id

    with session_factory() as session:
        row = session.execute(sa.text("SELECT * FROM conversations")).mappings().one()
    assert token not in {str(value) for value in row.values()}
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert row["id"] == conversation_id
    assert (row["channel"], row["state"]) == ("api", "bot")


def test_tokens_and_ids_differ_between_conversations(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        first, first_token = create_conversation(session, channel="api")
        second, second_token = create_conversation(session, channel="api")

    assert first.id != second.id
    assert first_token != second_token
    assert len(first_token) >= 40  # 32 random bytes, URL-safe base64
    assert token_matches(first, token=first_token)
    assert not token_matches(first, token=second_token)
    assert not token_matches(first, token="")
    assert not token_matches(first, token=first.token_hash)  # the hash is not a password


def test_get_conversation_reads_back_aware_utc_times(
    session_factory: sessionmaker[Session],
) -> None:
    before = utc_now()
    with session_factory.begin() as session:
        conversation_id = create_conversation(session, channel="webchat")[0].id

    with session_factory() as session:
        conversation = get_conversation(session, conversation_id=conversation_id)
        assert get_conversation(session, conversation_id="no-such-id") is None
    assert conversation is not None
    assert conversation.channel == "webchat"
    assert conversation.created_at.tzinfo is not None
    assert conversation.created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= conversation.created_at <= utc_now()


def test_messages_come_back_in_order_with_buttons_and_states(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        conversation_id = create_conversation(session, channel="api")[0].id
    with session_factory.begin() as session:
        inbound = add_message(
            session,
            conversation_id=conversation_id,
            direction="in",
            sender="customer",
            text="Where is my order 10023? ☎ 138-0000-1234",
            channel="api",
            delivery_state="received",
        )
        add_message(
            session,
            conversation_id=conversation_id,
            direction="out",
            sender="bot",
            text="Which order?",
            buttons=[{"title": "Order 10023", "payload": '/pick{"order": "10023"}'}],
            channel="api",
            delivery_state="queued",
        )
        inbound_id = inbound.id
    with session_factory.begin() as session:
        mark_delivery(session, message_id=inbound_id, delivery_state="processed")

    with session_factory() as session:
        messages = list_messages(session, conversation_id=conversation_id)
        null_buttons = session.scalar(
            sa.text("SELECT count(*) FROM messages WHERE buttons IS NULL")
        )
        conversation = get_conversation(session, conversation_id=conversation_id)

    assert [(m.direction, m.sender, m.delivery_state) for m in messages] == [
        ("in", "customer", "processed"),
        ("out", "bot", "queued"),
    ]
    assert messages[0].text == "Where is my order 10023? ☎ 138-0000-1234"
    assert messages[0].buttons is None
    assert null_buttons == 1  # "no buttons" is SQL NULL, not JSON null
    assert messages[1].buttons == [{"title": "Order 10023", "payload": '/pick{"order": "10023"}'}]
    assert messages[0].created_at.tzinfo == UTC
    assert conversation is not None
    assert conversation.last_activity_at == messages[1].created_at


def test_messages_of_other_conversations_are_not_listed(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        mine = create_conversation(session, channel="api")[0].id
        theirs = create_conversation(session, channel="api")[0].id
        for conversation_id, text in ((mine, "mine"), (theirs, "theirs")):
            add_message(
                session,
                conversation_id=conversation_id,
                direction="in",
                sender="customer",
                text=text,
                channel="api",
                delivery_state="received",
            )

    with session_factory() as session:
        assert [m.text for m in list_messages(session, conversation_id=mine)] == ["mine"]


def test_a_message_needs_an_existing_conversation(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(sa.exc.IntegrityError), session_factory.begin() as session:
        add_message(
            session,
            conversation_id="0" * 32,
            direction="in",
            sender="customer",
            text="hello",
            channel="api",
            delivery_state="received",
        )


def test_marking_an_unknown_message_fails(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(LookupError), session_factory.begin() as session:
        mark_delivery(session, message_id=999_999, delivery_state="processed")


def test_marking_several_delivered_changes_only_those(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        conversation_id = create_conversation(session, channel="api")[0].id
        ids = [
            add_message(
                session,
                conversation_id=conversation_id,
                direction="out",
                sender="bot",
                text=f"reply {n}",
                channel="api",
                delivery_state="queued",
            ).id
            for n in range(3)
        ]
    with session_factory.begin() as session:
        mark_delivered(session, message_ids=ids[:2])
        mark_delivered(session, message_ids=[])

    with session_factory() as session:
        messages = list_messages(session, conversation_id=conversation_id)
    assert [(m.text, m.delivery_state) for m in messages] == [
        ("reply 0", "delivered"),
        ("reply 1", "delivered"),
        ("reply 2", "queued"),
    ]
    assert messages[0].delivered_at is not None and messages[0].delivered_at.tzinfo == UTC
    assert messages[2].delivered_at is None
