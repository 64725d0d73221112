"""What happens to a customer's message while the bot is paused for a person.

The relay hands every message of a conversation that is not with the bot here:
queued or with an agent, the message is for the agents (and the queue's choices
are answered); after "leave a message" it is the call-back note; after an agent
closed, it is the rating. Nothing here calls the engine.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.relay import Routed
from bot.channels.relay_store import StoredMessage
from bot.domain.handoff import HandoffPolicy
from bot.domain.waiting import render_wait
from bot.handoff.queue import leave, open_handoff, snapshot
from bot.handoff.texts import (
    CARRY_ON,
    CHOICE_BUTTONS,
    KEEP_WAITING,
    LEAVE_MESSAGE,
    RATING_BUTTONS,
    RATING_QUESTION,
)
from bot.storage.conversations import add_message, lock_conversation, mark_delivery
from bot.storage.desk_events import record_rating, record_survey_sent
from bot.storage.tables import (
    Button,
    CallbackRequest,
    Channel,
    Conversation,
    Handoff,
    Message,
    Rating,
)

RATING = re.compile(
    r"^\s*(?:rate\s+)?([1-5])(\s*(/\s*5|stars?|out of 5|of 5))?\s*[.!]*\s*$", re.IGNORECASE
)
RATING_BUTTON = re.compile(r"^Rate ([1-5]) of 5$")
CALLBACK_PROMPT = (
    "Please write your message in one go, with the best time and number to call you. "
    "An agent will call you back."
)
BACK_WITH_BOT = "OK, you're back with me, Shopdesk's assistant. What can I help you with?"
RATING_THANKS = "Thank you for your rating! Is there anything else I can help you with?"


class Notify(Protocol):
    """Tells the agents' consoles: all of them, or only `agent_id`'s."""

    async def __call__(self, event: dict[str, Any], *, agent_id: int | None = None) -> None: ...


def _reply(
    session: Session,
    *,
    conversation_id: str,
    channel: Channel,
    message_id: int,
    text: str | None = None,
    buttons: list[Button] | None = None,
) -> list[StoredMessage]:
    mark_delivery(session, message_id=message_id, delivery_state="processed")
    if text is None:
        return []
    return [_system_message(session, conversation_id, channel, text, buttons)]


def _system_message(
    session: Session,
    conversation_id: str,
    channel: Channel,
    text: str,
    buttons: list[Button] | None = None,
) -> StoredMessage:
    stored = add_message(
        session,
        conversation_id=conversation_id,
        direction="out",
        sender="system",
        text=text,
        buttons=buttons,
        channel=channel,
        delivery_state="queued",
    )
    return StoredMessage.from_row(stored)


class HandoffRouter:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        policy: HandoffPolicy,
        notify_agents: Notify,
        active_incidents: Callable[[], Awaitable[int]],
    ) -> None:
        self._session_factory = session_factory
        self._policy = policy
        self._notify_agents = notify_agents
        self._active_incidents = active_incidents

    async def after_bot_turn(
        self, *, conversation_id: str, channel: Channel
    ) -> list[StoredMessage]:
        """Once the bot has answered again after an agent handed back, the customer is asked
        to rate the agent's help (once). A turn that queued the conversation (the engine's
        handoff action) is news for the agents' consoles."""
        state, rating = await asyncio.to_thread(self._after_turn, conversation_id, channel)
        if state == "queued":
            await self._notify_agents({"type": "queue"})
        return rating

    def _after_turn(
        self, conversation_id: str, channel: Channel
    ) -> tuple[str | None, list[StoredMessage]]:
        """Both reads in one transaction and one trip to a worker thread."""
        with self._session_factory.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            state = conversation.state if conversation else None
            if state == "queued":
                return state, []
            return state, self._ask_rating_after_return(session, conversation_id, channel)

    @staticmethod
    def _ask_rating_after_return(
        session: Session, conversation_id: str, channel: Channel
    ) -> list[StoredMessage]:
        last = (
            session.query(Handoff)
            .filter(Handoff.conversation_id == conversation_id, Handoff.state != "waiting")
            .order_by(Handoff.id.desc())
            .first()
        )
        if last is None or last.state != "returned" or last.ended_at is None:
            return []
        asked = (
            session.query(Message)
            .filter(
                Message.conversation_id == conversation_id,
                Message.text == RATING_QUESTION,
                Message.created_at >= last.ended_at,
            )
            .count()
        )
        if asked or session.query(Rating).filter_by(handoff_id=last.id).count():
            return []
        question = _system_message(
            session, conversation_id, channel, RATING_QUESTION, list(RATING_BUTTONS)
        )
        record_survey_sent(session, conversation_id=conversation_id, handoff_id=last.id)
        return [question]

    def wants(self, text: str) -> bool:
        """A rating button pressed after the bot took the conversation back."""
        return RATING_BUTTON.match(text.strip()) is not None

    async def handle(
        self, *, conversation_id: str, channel: Channel, state: str, message_id: int, text: str
    ) -> Routed:
        """`state` is what the relay read before; an agent may have taken, handed back or
        closed since, so the message is routed by the state read again under the
        conversation's lock, and the consoles hear about it by that state too."""
        # Only the queue's "keep waiting" choice announces a wait, which counts incidents.
        wants_wait = state == "queued" and text.strip() == KEEP_WAITING
        incidents = await self._active_incidents() if wants_wait else 0
        routed, state = await asyncio.to_thread(
            self._handle,
            conversation_id=conversation_id,
            channel=channel,
            message_id=message_id,
            text=text,
            incidents=incidents,
        )
        if state in ("queued", "agent", "callback"):
            await self._notify_agents({"type": "queue"})
        if state == "agent" and routed.handoff_id is not None:
            message, agent_id = await asyncio.to_thread(
                self._message_for_agent, message_id, routed.handoff_id
            )
            await self._notify_agents(
                {"type": "message", "handoff_id": routed.handoff_id, "message": message},
                agent_id=agent_id,
            )
        return routed

    def _message_for_agent(
        self, message_id: int, handoff_id: int
    ) -> tuple[dict[str, Any], int | None]:
        """The message as the console's API shows it (docs/console-api.md), and the agent
        who has the conversation: only their console is told."""
        with self._session_factory() as session:
            row = session.get(Message, message_id)
            handoff = session.get(Handoff, handoff_id)
            assert row is not None and handoff is not None
            message = {
                "id": row.id,
                "sender": row.sender,
                "text": row.text,
                "buttons": list(row.buttons or []),
                "created_at": row.created_at.isoformat(),
            }
            return message, handoff.agent_id

    def _handle(
        self,
        *,
        conversation_id: str,
        channel: Channel,
        message_id: int,
        text: str,
        incidents: int,
    ) -> tuple[Routed, str]:
        """Routes by the state read under the lock, returned with the result; a message
        that no agent can see goes to the bot, never nowhere."""
        with self._session_factory.begin() as session:
            state = lock_conversation(session, conversation_id=conversation_id).state
            handoff = open_handoff(session, conversation_id=conversation_id)
            reply: dict[str, Any] = {
                "conversation_id": conversation_id,
                "channel": channel,
                "message_id": message_id,
            }
            if state == "queued" and handoff is not None:
                return self._queued(session, handoff, text.strip(), reply, incidents), state
            if state == "agent" and handoff is not None:
                # The agent's console shows it (`handle` tells them); the bot must not answer.
                return Routed(_reply(session, **reply), handoff_id=handoff.id), state
            if state == "callback":
                return self._callback_note(session, conversation_id, text, reply), state
            if state == "rating" or (state == "bot" and self.wants(text)):
                return self._rating(session, conversation_id, text, reply), state
            # Back with the bot (or a state without an open handoff): the bot answers.
            return Routed(pass_to_engine=True), state

    def _queued(
        self,
        session: Session,
        handoff: Handoff,
        choice: str,
        reply: dict[str, Any],
        incidents: int,
    ) -> Routed:
        if choice == CARRY_ON:
            leave(session, handoff=handoff)
            return Routed(_reply(session, **reply, text=BACK_WITH_BOT))
        if choice == LEAVE_MESSAGE:
            leave(session, handoff=handoff, callback=True)
            return Routed(_reply(session, **reply, text=CALLBACK_PROMPT))
        if choice == KEEP_WAITING:
            queue = snapshot(session, policy=self._policy, active_incidents=incidents)
            announcement = queue.announcement(handoff.id)
            if announcement is not None:
                choices = announcement.too_long or announcement.no_agents
                return Routed(
                    _reply(
                        session,
                        **reply,
                        text=f"Thanks for waiting. {render_wait(announcement)}",
                        buttons=list(CHOICE_BUTTONS) if choices else None,
                    )
                )
        return Routed(_reply(session, **reply), handoff_id=handoff.id)

    def _callback_note(
        self, session: Session, conversation_id: str, text: str, reply: dict[str, Any]
    ) -> Routed:
        last = (
            session.query(Handoff)
            .filter_by(conversation_id=conversation_id)
            .order_by(Handoff.id.desc())
            .first()
        )
        callback = CallbackRequest(
            conversation_id=conversation_id, handoff_id=last.id if last else None, message=text
        )
        session.add(callback)
        session.flush()
        _set_state(session, conversation_id, "bot")
        confirmation = (
            f"Thanks, we have your message (call-back request CB-{callback.id}). An agent will "
            "call you back. Is there anything else I can help you with meanwhile?"
        )
        return Routed(_reply(session, **reply, text=confirmation))

    def _rating(
        self, session: Session, conversation_id: str, text: str, reply: dict[str, Any]
    ) -> Routed:
        """The rating of the last time with an agent, given once; anything else is for the bot."""
        _set_state(session, conversation_id, "bot")
        matched = RATING.match(text)
        last = (
            session.query(Handoff)
            .filter(
                Handoff.conversation_id == conversation_id,
                Handoff.state.in_(("closed", "returned")),
            )
            .order_by(Handoff.id.desc())
            .first()
        )
        rated = last is not None and session.query(Rating).filter_by(handoff_id=last.id).count()
        if matched is None or last is None or rated:
            return Routed(pass_to_engine=True)
        score = int(matched.group(1))
        session.add(Rating(conversation_id=conversation_id, handoff_id=last.id, score=score))
        record_rating(session, conversation_id=conversation_id, handoff_id=last.id, score=score)
        return Routed(_reply(session, **reply, text=RATING_THANKS))


def _set_state(session: Session, conversation_id: str, state: str) -> None:
    conversation = session.get(Conversation, conversation_id)
    if conversation is not None:
        conversation.state = state
