"""A verification in the web chat links its session for incident notices, and for nothing
else: the engine hears the customer as `notice_customer_id`, never as a customer who may
skip a proof (that stays Telegram's, docs/security.md)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.relay import Relay
from bot.domain.notices import Recipient
from bot.storage.accounts import current_conversation, get_or_create_account
from bot.storage.notices import reachable
from bot.storage.tables import ChannelAccount
from tests.support.engines import ScriptedEngine

IDLE = timedelta(minutes=30)


def _conversation(session_factory: sessionmaker[Session], channel: str, external_id: str) -> str:
    with session_factory.begin() as session:
        account = get_or_create_account(
            session,
            channel=channel,  # type: ignore[arg-type]
            external_id=external_id,
        )
        return current_conversation(session, account=account, idle_after=IDLE).conversation.id


async def _say(relay: Relay, conversation_id: str, text: str, channel: str) -> None:
    await relay.accept_and_answer(
        conversation_id=conversation_id,
        channel=channel,  # type: ignore[arg-type]
        text=text,
    )


async def test_a_web_chat_verification_makes_the_customer_reachable_without_trusting_it(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _conversation(session_factory, "webchat", "browser-session-0000001")
    engine = ScriptedEngine(verifies=lambda text: 42 if text == "4521" else None)
    relay = Relay(session_factory=session_factory, engine=engine)

    await _say(relay, conversation_id, "order 100245", "webchat")
    await _say(relay, conversation_id, "4521", "webchat")
    await _say(relay, conversation_id, "and my other order?", "webchat")

    last = engine.calls[-1].metadata
    assert last["notice_customer_id"] == 42
    assert "linked_customer_id" not in last
    with session_factory() as session:
        account = session.query(ChannelAccount).filter_by(channel="webchat").one()
        assert account.customer_id == 42
        assert reachable(session, customer_ids=[42]) == {42: Recipient(42, account.id, "webchat")}


async def test_a_linked_telegram_account_is_told_both_ways(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id = _conversation(session_factory, "telegram", "5001")
    engine = ScriptedEngine(verifies=lambda text: 42 if text == "4521" else None)
    relay = Relay(session_factory=session_factory, engine=engine)

    await _say(relay, conversation_id, "4521", "telegram")
    await _say(relay, conversation_id, "stop these messages", "telegram")

    last = engine.calls[-1].metadata
    assert (last["notice_customer_id"], last["linked_customer_id"]) == (42, 42)
