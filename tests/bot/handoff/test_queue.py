"""The queue in the database: states move together with the conversation's, in order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.handoff import HandoffPolicy, HandoffReason
from bot.handoff.agents import add_agent, set_status
from bot.handoff.queue import (
    HandoffConflict,
    close,
    enqueue,
    get_handoff,
    hand_back,
    leave,
    snapshot,
    take,
)
from bot.storage.accounts import current_conversation, get_or_create_account
from bot.storage.tables import Agent, Conversation, Handoff
from tests.bot.handoff.conftest import new_conversation
from tests.support.queue import customer_asked

POLICY = HandoffPolicy()


def _enqueue(
    session_factory: sessionmaker[Session],
    *,
    reason: HandoffReason = HandoffReason.CUSTOMER_ASKED,
    verified: bool = False,
    incident: bool = False,
    value: str | None = None,
) -> int:
    conversation_id = new_conversation(session_factory)
    with session_factory.begin() as session:
        return enqueue(
            session,
            conversation_id=conversation_id,
            reason=reason,
            reason_detail="asked for a person",
            summary={"intents": ["human_agent"]},
            verified=verified,
            affected_by_incident=incident,
            order_value=Decimal(value) if value else None,
        ).id


def _agent(session_factory: sessionmaker[Session], *, capacity: int = 2) -> Agent:
    with session_factory.begin() as session:
        agent = add_agent(
            session,
            username="mei",
            display_name="Mei",
            password="correct horse battery",
            capacity=capacity,
        )
        set_status(session, agent_id=agent.id, status="available")
        session.expunge(agent)
        return agent


def _state(session_factory: sessionmaker[Session], handoff_id: int) -> tuple[str, str]:
    with session_factory() as session:
        handoff = session.get(Handoff, handoff_id)
        assert handoff is not None
        conversation = session.get(Conversation, handoff.conversation_id)
        assert conversation is not None
        return handoff.state, conversation.state


def test_queueing_pauses_the_conversation_and_asking_again_keeps_the_place(
    session_factory: sessionmaker[Session],
) -> None:
    handoff_id = _enqueue(session_factory)
    with session_factory.begin() as session:
        handoff = get_handoff(session, handoff_id=handoff_id)
        assert handoff is not None
        again = enqueue(
            session,
            conversation_id=handoff.conversation_id,
            reason=HandoffReason.COMPLAINT,
            reason_detail="unhappy",
            summary={},
            verified=False,
            affected_by_incident=False,
            order_value=None,
        )
        assert again.id == handoff_id

    assert _state(session_factory, handoff_id) == ("waiting", "queued")


def test_priority_orders_the_queue_and_positions_follow_it(
    session_factory: sessionmaker[Session],
) -> None:
    general = _enqueue(session_factory)
    affected = _enqueue(session_factory, verified=True, incident=True, value="480.00")

    with session_factory() as session:
        queue = snapshot(session, policy=POLICY, active_incidents=1)

    assert [h.id for h in queue.waiting] == [affected, general]
    assert (queue.position(affected), queue.position(general)) == (1, 2)
    assert queue.scores[affected] > queue.scores[general]


def test_without_agents_the_wait_is_unknown_and_said_so(
    session_factory: sessionmaker[Session],
) -> None:
    handoff_id = _enqueue(session_factory)

    with session_factory() as session:
        announcement = snapshot(session, policy=POLICY, active_incidents=0).announcement(handoff_id)

    assert announcement is not None
    assert announcement.no_agents and announcement.minutes is None


def test_waits_come_from_agents_capacity_and_measured_handling_times(
    session_factory: sessionmaker[Session],
) -> None:
    agent = _agent(session_factory, capacity=1)
    served = [_enqueue(session_factory) for _ in range(5)]
    for handoff_id in served:  # five conversations of exactly 4 minutes each
        with session_factory.begin() as session:
            handoff = take(session, handoff_id=handoff_id, agent=agent, active_chats=0)
            assert handoff.assigned_at is not None
            handoff.assigned_at = handoff.assigned_at - timedelta(minutes=4)
            hand_back(session, handoff=handoff)
    busy = _enqueue(session_factory)
    with session_factory.begin() as session:
        take(session, handoff_id=busy, agent=agent, active_chats=0)
    first, second = _enqueue(session_factory), _enqueue(session_factory)

    with session_factory() as session:
        queue = snapshot(session, policy=POLICY, active_incidents=0)

    assert queue.mean_handle_minutes == pytest.approx(4.0, abs=0.01)
    assert (queue.slots, queue.busy_slots) == (1, 1)
    # One slot, busy: the first in line waits one handling time, the second two.
    assert queue.wait_minutes_at(queue.position(first) or 0) == pytest.approx(4.0, abs=0.01)
    assert queue.wait_minutes_at(queue.position(second) or 0) == pytest.approx(8.0, abs=0.01)


def test_an_agent_takes_up_to_capacity_and_nobody_takes_twice(
    session_factory: sessionmaker[Session],
) -> None:
    agent = _agent(session_factory, capacity=1)
    first, second = _enqueue(session_factory), _enqueue(session_factory)

    with session_factory.begin() as session:
        take(session, handoff_id=first, agent=agent, active_chats=0)
    with session_factory.begin() as session, pytest.raises(HandoffConflict, match="took"):
        take(session, handoff_id=first, agent=agent, active_chats=0)
    with session_factory.begin() as session, pytest.raises(HandoffConflict, match="capacity"):
        take(session, handoff_id=second, agent=agent, active_chats=1)

    assert _state(session_factory, first) == ("assigned", "agent")
    assert _state(session_factory, second) == ("waiting", "queued")


def test_hand_back_close_and_leave_move_both_states(
    session_factory: sessionmaker[Session],
) -> None:
    agent = _agent(session_factory, capacity=3)
    returned, closed, left, callback = (_enqueue(session_factory) for _ in range(4))
    with session_factory.begin() as session:
        for handoff_id in (returned, closed):
            take(session, handoff_id=handoff_id, agent=agent, active_chats=0)
        hand_back(session, handoff=session.get(Handoff, returned))  # type: ignore[arg-type]
        close(session, handoff=session.get(Handoff, closed), resolution="refund_issued")  # type: ignore[arg-type]
        leave(session, handoff=session.get(Handoff, left))  # type: ignore[arg-type]
        leave(session, handoff=session.get(Handoff, callback), callback=True)  # type: ignore[arg-type]

    assert _state(session_factory, returned) == ("returned", "bot")
    assert _state(session_factory, closed) == ("closed", "rating")
    assert _state(session_factory, left) == ("left", "bot")
    assert _state(session_factory, callback) == ("callback", "callback")


def test_a_surge_is_seen_in_the_queue_length_and_in_incidents(
    session_factory: sessionmaker[Session],
) -> None:
    for _ in range(3):
        _enqueue(session_factory)
    small_queue = HandoffPolicy(surge_queue_length=3)

    with session_factory() as session:
        calm = snapshot(session, policy=POLICY, active_incidents=0).surge
        crowded = snapshot(session, policy=small_queue, active_incidents=0).surge
        incident = snapshot(session, policy=POLICY, active_incidents=1).surge

    assert not calm.active
    assert crowded.active and any("queue" in reason for reason in crowded.reasons)
    assert incident.active and any("incident" in reason for reason in incident.reasons)


def test_a_conversation_waiting_for_a_person_does_not_time_out(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="telegram", external_id="42")
        first = current_conversation(session, account=account, idle_after=timedelta(minutes=30))
        conversation_id = first.conversation.id
        customer_asked(session, conversation_id=conversation_id)
        first.conversation.last_activity_at -= timedelta(hours=2)
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="telegram", external_id="42")
        later = current_conversation(session, account=account, idle_after=timedelta(minutes=30))

        assert later.conversation.id == conversation_id and not later.started
