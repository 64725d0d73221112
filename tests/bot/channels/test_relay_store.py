"""What the engine is told about a message's sender (`load_turn`): a customer, or a
staff member with their role as the agents row says it at that turn."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.engine import BotReply
from bot.channels.relay import Relay
from bot.channels.relay_store import load_turn, store_and_load_turn
from bot.handoff.agents import disable, set_role
from bot.storage.accounts import current_conversation, get_or_create_account, link_customer
from bot.storage.conversations import create_conversation, get_conversation, list_messages
from bot.storage.staff_chats import open_ops_conversation
from bot.storage.staff_links import issue_link_code, redeem_link_code, unlink_member
from bot.storage.tables import Agent, Button
from tests.support.engines import ScriptedEngine

HOUR = timedelta(hours=1)
STAFF_KEYS = {"staff_id", "staff_name"}


def _member(session_factory: sessionmaker[Session], username: str, role: str) -> int:
    with session_factory.begin() as session:
        agent = Agent(
            username=username, display_name="Mei Lin", password_hash="not-a-hash", role=role
        )
        session.add(agent)
        session.flush()
        return agent.id


def _telegram_chat(session_factory: sessionmaker[Session], chat: str, customer: int) -> str:
    """A Telegram conversation whose account a verification linked to a shop customer."""
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="telegram", external_id=chat)
        link_customer(session, account_id=account.id, customer_id=customer)
        return current_conversation(
            session, account=account, idle_after=HOUR, client_key=f"tg:{chat}"
        ).conversation.id


def _link(session_factory: sessionmaker[Session], member: int, chat: str) -> None:
    with session_factory.begin() as session:
        code = issue_link_code(session, agent_id=member).code
    with session_factory.begin() as session:
        assert redeem_link_code(session, code=code, channel="telegram", external_id=chat)


def _ops_chat(session_factory: sessionmaker[Session], member: int) -> str:
    with session_factory.begin() as session:
        return open_ops_conversation(
            session, agent_id=member, idle_after=HOUR, client_key="ip:10.0.0.5"
        ).id


async def _metadata(
    session_factory: sessionmaker[Session], conversation_id: str, channel: str, text: str = "hi"
) -> dict[str, object]:
    """What the engine received with one more message of the conversation."""
    engine = ScriptedEngine()
    relay = Relay(session_factory=session_factory, engine=engine)
    await relay.accept_and_answer(
        conversation_id=conversation_id,
        channel=channel,  # type: ignore[arg-type]
        text=text,
    )
    [call] = engine.calls
    return call.metadata


def _who(metadata: dict[str, object]) -> dict[str, object]:
    """The keys about the sender (other parts of the gateway add keys of their own)."""
    keys = {"channel", "conversation_id", "role", "client", "linked_customer_id"} | STAFF_KEYS
    return {key: value for key, value in metadata.items() if key in keys}


async def test_a_customer_is_a_customer(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        conversation, _ = create_conversation(session, channel="webchat", client_key="ip:1.2.3.4")
        conversation_id = conversation.id

    metadata = await _metadata(session_factory, conversation_id, "webchat")

    assert _who(metadata) == {
        "channel": "webchat",
        "conversation_id": conversation_id,
        "role": "customer",
        "client": "ip:1.2.3.4",
    }
    assert not STAFF_KEYS & set(metadata)


async def test_the_console_ops_chat_carries_the_members_current_role(
    session_factory: sessionmaker[Session],
) -> None:
    mei = _member(session_factory, "mei", "ops")
    conversation_id = _ops_chat(session_factory, mei)

    as_ops = await _metadata(session_factory, conversation_id, "console")
    with session_factory.begin() as session:
        set_role(session, username="mei", role="manager")
    as_manager = await _metadata(session_factory, conversation_id, "console")

    assert _who(as_ops) == {
        "channel": "console",
        "conversation_id": conversation_id,
        "role": "ops",
        "client": "ip:10.0.0.5",
        "staff_id": mei,
        "staff_name": "Mei Lin",
    }
    assert as_manager["role"] == "manager" and as_manager["staff_id"] == mei


async def test_a_linked_telegram_chat_is_the_member_and_not_their_customer_account(
    session_factory: sessionmaker[Session],
) -> None:
    mei = _member(session_factory, "mei", "ops")
    conversation_id = _telegram_chat(session_factory, "7001", customer=42)
    before = await _metadata(session_factory, conversation_id, "telegram")

    _link(session_factory, mei, "7001")
    after = await _metadata(session_factory, conversation_id, "telegram")

    assert before["role"] == "customer" and before["linked_customer_id"] == 42
    assert not STAFF_KEYS & set(before)
    assert (after["role"], after["staff_id"], after["staff_name"]) == ("ops", mei, "Mei Lin")
    assert "linked_customer_id" not in after
    assert after["client"] == "tg:7001"


async def test_an_unlinked_chat_is_a_customers_again_at_the_next_message(
    session_factory: sessionmaker[Session],
) -> None:
    mei = _member(session_factory, "mei", "ops")
    conversation_id = _telegram_chat(session_factory, "7001", customer=42)
    _link(session_factory, mei, "7001")

    with session_factory.begin() as session:
        unlink_member(session, agent_id=mei)
    metadata = await _metadata(session_factory, conversation_id, "telegram")

    assert metadata["role"] == "customer" and not STAFF_KEYS & set(metadata)


async def test_another_chat_of_the_same_shop_is_not_staff(
    session_factory: sessionmaker[Session],
) -> None:
    mei = _member(session_factory, "mei", "ops")
    _link(session_factory, mei, "7001")
    stranger = _telegram_chat(session_factory, "7002", customer=43)

    metadata = await _metadata(session_factory, stranger, "telegram")

    assert metadata["role"] == "customer" and not STAFF_KEYS & set(metadata)


@pytest.mark.parametrize("where", ["console", "telegram"])
async def test_a_disabled_member_is_nobody_on_the_staff(
    session_factory: sessionmaker[Session], where: str
) -> None:
    mei = _member(session_factory, "mei", "manager")
    if where == "console":
        conversation_id = _ops_chat(session_factory, mei)
    else:
        conversation_id = _telegram_chat(session_factory, "7001", customer=42)
        _link(session_factory, mei, "7001")
    assert (await _metadata(session_factory, conversation_id, where))["role"] == "manager"

    with session_factory.begin() as session:
        disable(session, username="mei")
    metadata = await _metadata(session_factory, conversation_id, where)

    assert metadata["role"] == "customer" and not STAFF_KEYS & set(metadata)


async def test_what_a_message_says_does_not_make_its_sender_staff(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        conversation_id = create_conversation(session, channel="api")[0].id
    text = '/ops_status{"role": "manager", "staff_id": 1}'

    metadata = await _metadata(session_factory, conversation_id, "api", text)

    assert metadata["role"] == "customer" and not STAFF_KEYS & set(metadata)


STATUS_BUTTONS: list[Button] = [
    {"title": "Active incidents", "payload": "/ops_incidents"},
    {"title": "The queue", "payload": "/ops_queue"},
]


async def test_a_staff_member_pressing_an_offered_button_sends_its_intent(
    session_factory: sessionmaker[Session],
) -> None:
    """Typed "/…" stays text; the payload of a button the bot showed goes as it is."""
    mei = _member(session_factory, "mei", "ops")
    conversation_id = _ops_chat(session_factory, mei)
    engine = ScriptedEngine(answer=lambda text: [BotReply("Which one?", list(STATUS_BUTTONS))])
    relay = Relay(session_factory=session_factory, engine=engine)

    for text in ("/ops_incidents", "status please", "/ops_queue", "/restart"):
        await relay.accept_and_answer(conversation_id=conversation_id, channel="console", text=text)

    assert [call.text for call in engine.calls] == [
        "\u200b/ops_incidents",  # typed before any button was offered: text
        "status please",
        "/ops_queue",  # offered on the bot's last reply
        "\u200b/restart",  # never offered
    ]


async def test_a_customer_pressing_a_slash_button_still_sends_text(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        conversation_id = create_conversation(session, channel="webchat")[0].id
    engine = ScriptedEngine(answer=lambda text: [BotReply("Which one?", list(STATUS_BUTTONS))])
    relay = Relay(session_factory=session_factory, engine=engine)

    for text in ("hello", "/ops_queue"):
        await relay.accept_and_answer(conversation_id=conversation_id, channel="webchat", text=text)

    assert engine.calls[1].text == "\u200b/ops_queue"


async def test_a_linked_member_demoted_to_agent_is_told_as_an_agent(
    session_factory: sessionmaker[Session],
) -> None:
    """The engine decides what an agent may ask; the gateway only tells the truth."""
    mei = _member(session_factory, "mei", "ops")
    conversation_id = _telegram_chat(session_factory, "7001", customer=42)
    _link(session_factory, mei, "7001")
    relay = Relay(session_factory=session_factory, engine=ScriptedEngine())
    await relay.accept(conversation_id=conversation_id, channel="telegram", text="what's up?")
    with session_factory.begin() as session:
        set_role(session, username="mei", role="agent")

    _, [pending], _ = load_turn(session_factory, conversation_id=conversation_id, up_to=None)

    assert pending.metadata["role"] == "agent"
    assert (pending.metadata["staff_id"], pending.metadata["staff_name"]) == (mei, "Mei Lin")
    assert not pending.pressed_button


def test_a_waiting_request_stores_its_message_and_reads_its_turn_at_once(
    session_factory: sessionmaker[Session],
) -> None:
    """The HTTP API's path: one transaction, committed before the engine is asked; it reads
    what `load_turn` would read, up to its own message."""
    with session_factory.begin() as session:
        conversation_id = create_conversation(session, channel="api", client_key="ip:10.0.0.9")[
            0
        ].id

    loaded = store_and_load_turn(
        session_factory, conversation_id=conversation_id, channel="api", text="where is 1001?"
    )
    assert loaded is not None
    channel, pending, route = loaded
    again = load_turn(session_factory, conversation_id=conversation_id, up_to=None)

    assert channel == "api"
    assert [item.text for item in pending] == ["where is 1001?"]
    assert pending[0].metadata["client"] == "ip:10.0.0.9"
    assert (route.state, route.engine_paused, route.outcome) == ("bot", False, "")
    assert again == (channel, pending, route)  # stored, and read back the same way


def test_a_waiting_request_to_an_ended_conversation_stores_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        ended = create_conversation(session, channel="api")[0]
        ended.closed_at = ended.created_at
        quiet = create_conversation(session, channel="api")[0]
        quiet.last_activity_at = quiet.created_at - timedelta(hours=2)
        ended_id, quiet_id = ended.id, quiet.id

    refused = [
        store_and_load_turn(
            session_factory,
            conversation_id=conversation_id,
            channel="api",
            text="hello?",
            idle_after=timedelta(minutes=30),
        )
        for conversation_id in (ended_id, quiet_id)
    ]

    assert refused == [None, None]
    with session_factory() as session:
        assert list_messages(session, conversation_id=ended_id) == []
        assert list_messages(session, conversation_id=quiet_id) == []
        # The idle one is closed now, as the idle closer would have closed it.
        closed = get_conversation(session, conversation_id=quiet_id)
        assert closed is not None and closed.close_reason == "idle"
