"""A customer message racing an agent's take, hand-back or close reaches the bot or the
agent, never neither: the router decides by the state it reads under the conversation's
lock, not by the state the relay read a moment before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.relay import Relay, Routed
from bot.channels.relay_store import StoredMessage
from bot.domain.handoff import HandoffPolicy
from bot.handoff.agents import add_agent, set_status
from bot.handoff.customer_side import HandoffRouter
from bot.handoff.queue import HandoffConflict, close, hand_back, leave, take
from bot.handoff.texts import RATING_QUESTION
from bot.storage.conversations import list_messages
from bot.storage.tables import Agent, Channel, Conversation, Handoff, Rating
from tests.bot.handoff.conftest import new_conversation
from tests.support.engines import ScriptedEngine
from tests.support.queue import customer_asked


class Consoles:
    """What the agents' consoles were told."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.for_agents: list[int | None] = []

    async def notify(self, event: dict[str, Any], *, agent_id: int | None = None) -> None:
        self.events.append(event)
        self.for_agents.append(agent_id)

    def messages(self) -> list[tuple[int, str]]:
        return [
            (event["handoff_id"], event["message"]["text"])
            for event in self.events
            if event["type"] == "message"
        ]


async def _no_incidents() -> int:
    return 0


class AgentActsFirst:
    """The router, but an agent's step commits after the relay has read the route and
    before the router acts on the message: the race, made deterministic."""

    def __init__(self, router: HandoffRouter, step: Callable[[], None]) -> None:
        self._router = router
        self._step: Callable[[], None] | None = step
        self.stale_states: list[str] = []

    def wants(self, text: str) -> bool:
        return self._router.wants(text)

    async def after_bot_turn(
        self, *, conversation_id: str, channel: Channel
    ) -> list[StoredMessage]:
        return await self._router.after_bot_turn(conversation_id=conversation_id, channel=channel)

    async def handle(
        self, *, conversation_id: str, channel: Channel, state: str, message_id: int, text: str
    ) -> Routed:
        if self._step is not None:
            self._step()
            self._step = None
        self.stale_states.append(state)
        return await self._router.handle(
            conversation_id=conversation_id,
            channel=channel,
            state=state,
            message_id=message_id,
            text=text,
        )


def _agent(session_factory: sessionmaker[Session]) -> Agent:
    with session_factory.begin() as session:
        agent = add_agent(
            session, username="mei", display_name="Mei", password="correct horse battery"
        )
        set_status(session, agent_id=agent.id, status="available")
        session.expunge(agent)
        return agent


def _queued(session_factory: sessionmaker[Session]) -> tuple[str, int]:
    """A conversation the bot handed to the queue, as the handoff desk does it."""
    conversation_id = new_conversation(session_factory, channel="api")
    with session_factory.begin() as session:
        handoff = customer_asked(session, conversation_id=conversation_id)
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.engine_paused = True
        return conversation_id, handoff.id


def _with_agent(session_factory: sessionmaker[Session], agent: Agent) -> tuple[str, int]:
    conversation_id, handoff_id = _queued(session_factory)
    with session_factory.begin() as session:
        take(session, handoff_id=handoff_id, agent=agent, active_chats=0)
    return conversation_id, handoff_id


def _finish(
    session_factory: sessionmaker[Session], handoff_id: int, finish: Callable[..., Handoff]
) -> Callable[[], None]:
    def step() -> None:
        with session_factory.begin() as session:
            handoff = session.get(Handoff, handoff_id)
            assert handoff is not None
            finish(session, handoff=handoff)

    return step


def _close_resolved(session: Session, *, handoff: Handoff) -> Handoff:
    return close(session, handoff=handoff, resolution="resolved")


def _transcript(
    session_factory: sessionmaker[Session], conversation_id: str
) -> list[tuple[str, str | None, str]]:
    with session_factory() as session:
        return [
            (m.sender, m.text, m.delivery_state)
            for m in list_messages(session, conversation_id=conversation_id)
        ]


def _relay(
    session_factory: sessionmaker[Session], engine: ScriptedEngine, step: Callable[[], None]
) -> tuple[Relay, AgentActsFirst, Consoles]:
    consoles = Consoles()
    router = HandoffRouter(
        session_factory=session_factory,
        policy=HandoffPolicy(),
        notify_agents=consoles.notify,
        active_incidents=_no_incidents,
    )
    racing = AgentActsFirst(router, step)
    return Relay(session_factory=session_factory, engine=engine, paused=racing), racing, consoles


async def _say(relay: Relay, conversation_id: str, text: str) -> list[str | None]:
    accepted = await relay.accept(conversation_id=conversation_id, channel="api", text=text)
    produced = await relay.answer(conversation_id=conversation_id, up_to=accepted.message.id)
    return [message.text for message in produced]


async def test_a_message_sent_as_the_agent_hands_back_reaches_the_bot(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id, handoff_id = _with_agent(session_factory, _agent(session_factory))
    engine = ScriptedEngine()
    relay, racing, consoles = _relay(
        session_factory, engine, _finish(session_factory, handoff_id, hand_back)
    )

    replies = await _say(relay, conversation_id, "are you still there?")

    assert racing.stale_states == ["agent"]  # the relay read the state before the hand-back
    assert [call.text for call in engine.calls] == ["are you still there?"]
    # The engine was paused for the agent: it heard the conversation is back first.
    assert [outcome for _, outcome in engine.resumed] == ["returned"]
    assert replies[0] == "echo: are you still there?"
    assert _transcript(session_factory, conversation_id)[:2] == [
        ("customer", "are you still there?", "processed"),
        ("bot", "echo: are you still there?", "queued"),
    ]
    assert consoles.messages() == []


async def test_a_message_sent_as_the_agent_closes_reaches_the_bot(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id, handoff_id = _with_agent(session_factory, _agent(session_factory))
    engine = ScriptedEngine()

    relay, racing, _ = _relay(
        session_factory, engine, _finish(session_factory, handoff_id, _close_resolved)
    )

    replies = await _say(relay, conversation_id, "one more thing about my refund")

    assert racing.stale_states == ["agent"]
    assert [call.text for call in engine.calls] == ["one more thing about my refund"]
    assert replies == ["echo: one more thing about my refund"]
    assert _transcript(session_factory, conversation_id)[0] == (
        "customer",
        "one more thing about my refund",
        "processed",
    )


async def test_a_rating_sent_as_the_agent_closes_is_taken_as_the_rating(
    session_factory: sessionmaker[Session],
) -> None:
    conversation_id, handoff_id = _with_agent(session_factory, _agent(session_factory))
    engine = ScriptedEngine()

    relay, _, _ = _relay(
        session_factory, engine, _finish(session_factory, handoff_id, _close_resolved)
    )

    replies = await _say(relay, conversation_id, "5")

    assert engine.calls == []
    assert replies and "Thank you for your rating" in (replies[0] or "")
    with session_factory() as session:
        assert [(r.handoff_id, r.score) for r in session.query(Rating)] == [(handoff_id, 5)]
    assert RATING_QUESTION not in [
        text for _, text, _ in _transcript(session_factory, conversation_id)
    ]


async def test_a_message_sent_as_an_agent_takes_the_conversation_reaches_the_agent(
    session_factory: sessionmaker[Session],
) -> None:
    agent = _agent(session_factory)
    conversation_id, handoff_id = _queued(session_factory)
    engine = ScriptedEngine()

    def agent_takes() -> None:
        with session_factory.begin() as session:
            take(session, handoff_id=handoff_id, agent=agent, active_chats=0)

    relay, racing, consoles = _relay(session_factory, engine, agent_takes)

    replies = await _say(relay, conversation_id, "hello, anyone?")

    assert racing.stale_states == ["queued"]
    assert engine.calls == [] and replies == []
    assert consoles.messages() == [(handoff_id, "hello, anyone?")]
    # Told to the agent who took it alone; the queue's change to everyone.
    assert list(zip(consoles.events, consoles.for_agents, strict=True)) == [
        ({"type": "queue"}, None),
        (consoles.events[1], agent.id),
    ]
    assert _transcript(session_factory, conversation_id) == [
        ("customer", "hello, anyone?", "processed")
    ]


@pytest.mark.parametrize("step", ["hand_back", "close"])
async def test_the_router_given_a_stale_state_never_drops_the_message(
    session_factory: sessionmaker[Session], step: str
) -> None:
    """Called directly, as the relay calls it, with the state read before the agent's step."""
    conversation_id, handoff_id = _with_agent(session_factory, _agent(session_factory))
    consoles = Consoles()
    router = HandoffRouter(
        session_factory=session_factory,
        policy=HandoffPolicy(),
        notify_agents=consoles.notify,
        active_incidents=_no_incidents,
    )
    relay = Relay(session_factory=session_factory, engine=ScriptedEngine(), paused=router)
    accepted = await relay.accept(conversation_id=conversation_id, channel="api", text="hi?")
    with session_factory.begin() as session:
        handoff = session.get(Handoff, handoff_id)
        assert handoff is not None
        if step == "hand_back":
            hand_back(session, handoff=handoff)
        else:
            close(session, handoff=handoff, resolution="resolved")

    routed = await router.handle(
        conversation_id=conversation_id,
        channel="api",
        state="agent",
        message_id=accepted.message.id,
        text="hi?",
    )

    # Nobody has the conversation any more: the bot answers it, and no console is told.
    assert routed.pass_to_engine and routed.handoff_id is None
    assert consoles.messages() == []
    # Left unanswered for the engine: not marked processed.
    assert _transcript(session_factory, conversation_id)[0] == ("customer", "hi?", "received")


def test_an_agent_step_decides_by_the_handoff_as_it_is_under_the_lock(
    session_factory: sessionmaker[Session],
) -> None:
    """A handoff read before another transaction closed it cannot be handed back on top."""
    agent = _agent(session_factory)
    conversation_id, handoff_id = _with_agent(session_factory, agent)
    with session_factory() as stale_session:
        stale = stale_session.get(Handoff, handoff_id)
        assert stale is not None and stale.state == "assigned"
        stale_session.commit()  # what the session read stays in memory
        with session_factory.begin() as session:
            closing = session.get(Handoff, handoff_id)
            assert closing is not None
            close(session, handoff=closing, resolution="resolved")

        with pytest.raises(HandoffConflict):
            hand_back(stale_session, handoff=stale)
        stale_session.rollback()

    with session_factory() as session:
        handoff = session.get(Handoff, handoff_id)
        conversation = session.get(Conversation, conversation_id)
        assert handoff is not None and conversation is not None
        assert (handoff.state, conversation.state) == ("closed", "rating")


def test_a_customer_cannot_leave_a_queue_entry_an_agent_took_meanwhile(
    session_factory: sessionmaker[Session],
) -> None:
    agent = _agent(session_factory)
    conversation_id, handoff_id = _queued(session_factory)
    with session_factory() as stale_session:
        stale = stale_session.get(Handoff, handoff_id)
        assert stale is not None and stale.state == "waiting"
        stale_session.commit()
        with session_factory.begin() as session:
            take(session, handoff_id=handoff_id, agent=agent, active_chats=0)

        with pytest.raises(HandoffConflict):
            leave(stale_session, handoff=stale)
        stale_session.rollback()

    with session_factory() as session:
        handoff = session.get(Handoff, handoff_id)
        conversation = session.get(Conversation, conversation_id)
        assert handoff is not None and conversation is not None
        assert (handoff.state, conversation.state) == ("assigned", "agent")
