"""The handoff action on tracker fixtures, with a real queue in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from actions.handoff import ActionHandOff
from bot.domain.handoff import HandoffPolicy
from bot.domain.incidents import Incident, IncidentKind
from bot.handoff.desk import HandoffDesk
from bot.handoff.texts import CARRY_ON, KEEP_WAITING, LEAVE_MESSAGE, STILL_NEED_PERSON
from bot.storage.conversations import create_conversation
from bot.storage.ops_tables import DeskEvent
from bot.storage.tables import Conversation, Handoff
from tests.actions.conftest import CUSTOMER, InMemoryShop, lookup_over

PAUSE = {"event": "pause", "timestamp": None}
OUTAGE = Incident(
    id=3,
    kind=IncidentKind.CARRIER_OUTAGE,
    title="SF Express sorting outage",
    started_at=datetime.now(UTC) - timedelta(days=2),
    customer_note="SF Express's Wuhan hub is closed after a fire; parcels are re-routed.",
    carriers=("SF Express",),
    expected_recovery=datetime.now(UTC) + timedelta(days=2),
)


@pytest.fixture
def conversation_id(session_factory: sessionmaker[Session]) -> str:
    with session_factory.begin() as session:
        return create_conversation(session, channel="webchat")[0].id


def _tracker(
    conversation_id: str,
    *,
    intent: str = "human_agent",
    slots: dict[str, Any] | None = None,
    intents: tuple[str, ...] = ("order_status",),
) -> Tracker:
    events = [
        {"event": "user", "text": "…", "parse_data": {"intent": {"name": name}}}
        for name in (*intents, intent)
    ]
    return Tracker(
        sender_id=conversation_id,
        slots={"verified_orders": None, "order_contact": "4521", **(slots or {})},
        latest_message={"text": "…", "intent": {"name": intent}},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def _run(
    session_factory: sessionmaker[Session],
    tracker: Tracker,
    *,
    policy: HandoffPolicy | None = None,
    shop: InMemoryShop | None = None,
) -> tuple[list[dict[str, Any]], CollectingDispatcher]:
    action = ActionHandOff(
        desk=HandoffDesk(session_factory, policy or HandoffPolicy()),
        orders=lookup_over(shop or InMemoryShop()),
    )
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return events, dispatcher


def _handoffs(session_factory: sessionmaker[Session]) -> list[Handoff]:
    with session_factory() as session:
        return list(session.query(Handoff))


async def test_asking_for_a_person_queues_and_pauses_with_an_honest_wait(
    session_factory: sessionmaker[Session], conversation_id: str
) -> None:
    tracker = _tracker(conversation_id, slots={"verified_orders": ["100245"]})

    events, dispatcher = await _run(session_factory, tracker)

    [said] = dispatcher.messages
    assert said["text"].startswith("I'm passing you to a person from our team.")
    assert "No agent is available right now" in said["text"]
    assert [b["title"] for b in said["buttons"]] == [KEEP_WAITING, LEAVE_MESSAGE, CARRY_ON]
    assert PAUSE in events
    [handoff] = _handoffs(session_factory)
    assert (handoff.reason, handoff.verified, handoff.state) == ("customer_asked", True, "waiting")
    assert handoff.order_value is not None and handoff.order_value > 0
    assert handoff.summary["intents"] == ["order_status", "human_agent"]
    assert handoff.summary["customer_name"] == CUSTOMER.name
    assert "order_contact" not in handoff.summary["slots"]  # the proof stays private
    with session_factory() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        assert (conversation.state, conversation.engine_paused) == ("queued", True)


async def test_a_complaint_is_apologised_for_and_queued_as_one(
    session_factory: sessionmaker[Session], conversation_id: str
) -> None:
    _, dispatcher = await _run(session_factory, _tracker(conversation_id, intent="complain"))

    assert dispatcher.messages[0]["text"].startswith("I'm sorry, that's not the experience")
    assert [h.reason for h in _handoffs(session_factory)] == ["complaint"]


async def test_a_trigger_turned_off_points_to_support_and_queues_nothing(
    session_factory: sessionmaker[Session], conversation_id: str
) -> None:
    events, dispatcher = await _run(
        session_factory,
        _tracker(conversation_id, intent="complain"),
        policy=HandoffPolicy(on_complaint=False),
    )

    assert "support team can help you directly" in dispatcher.messages[0]["text"]
    assert PAUSE not in events
    assert _handoffs(session_factory) == []


async def test_a_skill_can_ask_for_a_person_by_policy(
    session_factory: sessionmaker[Session], conversation_id: str
) -> None:
    tracker = _tracker(
        conversation_id,
        intent="inform",
        slots={"handoff_reason": "policy", "handoff_detail": "quality claim QC-9 of CNY 480.00"},
    )

    events, _ = await _run(session_factory, tracker)

    [handoff] = _handoffs(session_factory)
    assert (handoff.reason, handoff.reason_detail) == ("policy", "quality claim QC-9 of CNY 480.00")
    assert {"event": "slot", "name": "handoff_reason", "value": None, "timestamp": None} in events


async def test_in_a_surge_an_affected_customer_first_hears_the_incident(
    session_factory: sessionmaker[Session], conversation_id: str
) -> None:
    shop = InMemoryShop(incidents=(OUTAGE,))
    verified = {"verified_orders": ["100245"]}

    first_events, first = await _run(
        session_factory, _tracker(conversation_id, slots=verified), shop=shop
    )
    still = {**verified, "handoff_incident_offered": True}
    second_events, second = await _run(
        session_factory, _tracker(conversation_id, slots=still), shop=shop
    )

    assert "Many customers are contacting us right now" in first.messages[0]["text"]
    assert OUTAGE.customer_note in first.messages[0]["text"]
    assert first.messages[0]["buttons"][0]["title"] == STILL_NEED_PERSON
    assert PAUSE not in first_events
    assert PAUSE in second_events
    assert "passing you to a person" in second.messages[0]["text"]
    [handoff] = _handoffs(session_factory)
    assert handoff.affected_by_incident
    # The desk's reports count this contact among the incident's (bot/storage/desk_events.py).
    assert handoff.summary["incident_id"] == OUTAGE.id
    with session_factory() as session:
        tied = session.scalars(
            sa.select(DeskEvent.incident_id).where(DeskEvent.kind == "handed_off")
        )
        assert list(tied) == [OUTAGE.id]


async def test_a_conversation_that_did_not_come_through_the_gateway_is_not_queued(
    session_factory: sessionmaker[Session],
) -> None:
    events, dispatcher = await _run(session_factory, _tracker("not-a-gateway-conversation"))

    assert "support team is at" in dispatcher.messages[0]["text"]
    assert PAUSE not in events
