"""Simulated customers for `make bench-surge`: one web chat page each, on its own thread.

A customer's whole behaviour (what they ask, which order, how patient they are, what they
press) is drawn up front from the bench's seeded generator into a `CustomerPlan`, so the
scenario is the same on every run whatever the threads' timing. `run_customer` then plays
the plan over the gateway's WebSocket (docs/webchat-protocol.md) and fills a
`CustomerLog`, the client-side record; the report trusts the database first and uses the
log only for what the database cannot know (what the customer saw, which client ids it
sent, whether it was stuck).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from bot.channels.relay import ENGINE_DOWN_REPLY
from bot.handoff.customer_side import BACK_WITH_BOT, RATING_THANKS
from bot.handoff.texts import CARRY_ON, RATING_QUESTION, STILL_NEED_PERSON, THAT_HELPS

# The bench's phases, as CustomerPlan.phase names them.
NORMAL, SURGE, WARMUP = "normal", "surge", "warmup"

BOT_TURN_TIMEOUT = 60.0  # a bot that has not answered by then has left the customer stuck
AGENT_SERVICE_TIMEOUT = 120.0  # from the agent joining to the rating question
SYSTEM_REPLY_TIMEOUT = 30.0  # the gateway's own replies (leaving the queue, the rating)
QUEUED_TEXT = "passing you to a person"
JOINED_SUFFIX = "has joined the chat."


class Kind(StrEnum):
    DELAY = "delay"  # "my order N is late" about an order caught by an active incident
    STATUS = "status"  # "where is my order N": the bot answers
    PERSON = "person"  # "I want to talk to a person" straight away


@dataclass(frozen=True)
class CustomerPlan:
    index: int
    phase: str
    kind: Kind
    order_number: str | None
    proof: str | None  # the phone's last four digits
    asks_for_person: bool  # a delay customer who, once answered, still asks for a person
    still_needs_person: bool  # if offered the incident's note first: "I still need a person"
    patience_seconds: float  # how long they wait in the queue before leaving for the bot
    writes_while_waiting_after: float | None  # seconds into the wait, or never
    writes_to_agent: bool
    rating: int
    rating_as_button: bool


@dataclass
class Shown:
    """A message the page showed, with when it arrived (monotonic seconds)."""

    id: int
    sender: str
    text: str | None
    buttons: list[str]
    at: float


@dataclass
class SentMessage:
    client_id: str
    text: str
    at: float


@dataclass
class CustomerLog:
    plan: CustomerPlan
    conversation_id: str | None = None
    sent: list[SentMessage] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    first_reply_seconds: list[float] = field(default_factory=list)
    engine_down_replies: int = 0
    offered_incident_note: bool = False
    chose_person_after_note: bool = False
    queued: bool = False
    joined: bool = False
    left_queue: bool = False
    rated: bool = False
    stuck: str | None = None  # where the customer gave up because nothing came
    closed_at: datetime | None = None  # when the page closed (UTC), for delivery checks

    @property
    def tag(self) -> str:
        return f"surge-{self.plan.phase}-{self.plan.index:04d}"


class ChatPage:
    """One customer's web chat page: the socket, every message it showed, what it sent."""

    def __init__(self, url: str, log: CustomerLog) -> None:
        self.log = log
        self.shown: list[Shown] = []
        self.typing_offs = 0
        self._ids: set[int] = set()
        self._socket: ClientConnection = connect(url, open_timeout=30, close_timeout=5)
        self._send({"type": "hello", "session": None, "last_seen": 0})
        if not self.wait_for(lambda: self.log.conversation_id is not None, 30):
            raise TimeoutError("no welcome from the gateway")

    def close(self) -> None:
        self.log.closed_at = datetime.now(UTC)
        self._socket.close()

    def say(self, text: str) -> int:
        """Sends a customer message; returns the number of messages shown before it."""
        client_id = f"{self.log.tag}-{len(self.log.sent):02d}"
        self.log.sent.append(SentMessage(client_id, text, time.monotonic()))
        self._send({"type": "message", "client_id": client_id, "text": text})
        return len(self.shown)

    def replies_since(self, mark: int) -> list[Shown]:
        return [m for m in self.shown[mark:] if m.sender != "customer"]

    def wait_for(self, done: Callable[[], bool], timeout: float) -> bool:
        """Takes in frames until `done()` or the timeout; True if done."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._receive_one(min(left, 0.25))
        return True

    def linger(self, seconds: float) -> None:
        """Takes in whatever arrives for a while (messages that come right after a reply)."""
        self.wait_for(lambda: False, seconds)

    def _send(self, frame: dict[str, Any]) -> None:
        self._socket.send(json.dumps(frame))

    def _receive_one(self, timeout: float) -> None:
        try:
            raw = self._socket.recv(timeout=timeout)
        except TimeoutError:
            return
        self._on_frame(json.loads(raw))

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "welcome":
            self.log.conversation_id = str(frame["conversation_id"])
        elif kind == "message":
            self._show(frame["message"])
        elif kind == "ack":
            self.log.acked.add(str(frame["client_id"]))
        elif kind == "typing" and not frame.get("on"):
            self.typing_offs += 1
        elif kind == "error":
            self.log.errors.append(str(frame.get("code")))
        elif kind == "conversation":
            self.log.errors.append("conversation changed: " + str(frame.get("reason")))

    def _show(self, message: dict[str, Any]) -> None:
        if message["id"] in self._ids:
            return
        self._ids.add(message["id"])
        self.shown.append(
            Shown(
                id=int(message["id"]),
                sender=str(message["sender"]),
                text=message.get("text"),
                buttons=[str(b["title"]) for b in message.get("buttons") or []],
                at=time.monotonic(),
            )
        )
        if message.get("text") == ENGINE_DOWN_REPLY:
            self.log.engine_down_replies += 1
        self._send({"type": "delivered", "up_to": max(self._ids)})


def bot_turn(page: ChatPage, text: str) -> list[Shown]:
    """Sends `text` and waits for the bot's whole answer: a real reply (the engine-down
    apology does not count: the replayed answer follows it) and the end of "typing"."""
    mark = page.say(text)
    sent_at = page.log.sent[-1].at
    typing_mark = page.typing_offs

    def answered() -> bool:
        real = [m for m in page.replies_since(mark) if m.text != ENGINE_DOWN_REPLY]
        return bool(real) and page.typing_offs > typing_mark

    def replayed() -> bool:
        return any(m.text != ENGINE_DOWN_REPLY for m in page.replies_since(mark))

    if not page.wait_for(answered, BOT_TURN_TIMEOUT):
        if not page.wait_for(replayed, 1.0):
            page.log.stuck = page.log.stuck or f"no bot answer to {text!r}"
            return page.replies_since(mark)
        page.linger(1.0)  # a replayed answer comes without "typing"; let all of it arrive
    replies = page.replies_since(mark)
    if replies:
        page.log.first_reply_seconds.append(replies[0].at - sent_at)
    return replies


def _queued(replies: list[Shown]) -> bool:
    return any(QUEUED_TEXT in (m.text or "") for m in replies)


def _joined(page: ChatPage, mark: int) -> bool:
    return any(
        m.sender == "system" and (m.text or "").endswith(JOINED_SUFFIX)
        for m in page.replies_since(mark)
    )


def _has_text(page: ChatPage, mark: int, text: str) -> Callable[[], bool]:
    return lambda: any(m.text == text for m in page.replies_since(mark))


def ask_for_person(page: ChatPage, plan: CustomerPlan) -> int | None:
    """Asks for a person; answers the incident note if offered. The mark of the queueing
    turn when queued, None when the bot kept the conversation."""
    mark = len(page.shown)
    replies = bot_turn(page, "I want to talk to a person")
    offered = any(STILL_NEED_PERSON in m.buttons for m in replies)
    if offered:
        page.log.offered_incident_note = True
        page.log.chose_person_after_note = plan.still_needs_person
        mark = len(page.shown)
        replies = bot_turn(page, STILL_NEED_PERSON if plan.still_needs_person else THAT_HELPS)
    if not _queued(replies):
        return None
    page.log.queued = True
    return mark


def wait_in_queue(page: ChatPage, plan: CustomerPlan, mark: int) -> None:
    """Waits for an agent up to the customer's patience (maybe writing meanwhile), then
    is served to the end and rates, or leaves for the bot."""
    started = time.monotonic()
    write_at = plan.writes_while_waiting_after
    if (
        write_at is not None
        and write_at < plan.patience_seconds
        and not page.wait_for(lambda: _joined(page, mark), write_at)
    ):
        page.say("Any news? I'm still here.")
    left = plan.patience_seconds - (time.monotonic() - started)
    if not page.wait_for(lambda: _joined(page, mark), max(0.0, left)):
        leave_mark = page.say(CARRY_ON)
        back = _has_text(page, leave_mark, BACK_WITH_BOT)
        page.wait_for(lambda: back() or _joined(page, mark), SYSTEM_REPLY_TIMEOUT)
        if back():
            page.log.left_queue = True
            return
        if not _joined(page, mark):  # neither back with the bot nor with an agent
            page.log.stuck = "no answer to leaving the queue"
            return
    page.log.joined = True
    served_mark = len(page.shown)
    if plan.writes_to_agent:
        about = f" It's about order {plan.order_number}." if plan.order_number else ""
        page.say("Thanks for taking this." + about)
    if not page.wait_for(_has_text(page, served_mark, RATING_QUESTION), AGENT_SERVICE_TIMEOUT):
        page.log.stuck = "the agent never closed the conversation"
        return
    rating = f"Rate {plan.rating} of 5" if plan.rating_as_button else str(plan.rating)
    rating_mark = page.say(rating)
    thanked = _has_text(page, rating_mark, RATING_THANKS)
    page.log.rated = page.wait_for(thanked, SYSTEM_REPLY_TIMEOUT)
    if not page.log.rated:
        page.log.stuck = "no thanks for the rating"


def _play(page: ChatPage, plan: CustomerPlan) -> None:
    mark: int | None = None
    if plan.kind is Kind.PERSON:
        mark = ask_for_person(page, plan)
    elif plan.kind is Kind.STATUS:
        bot_turn(page, f"where is my order {plan.order_number}?")
        bot_turn(page, str(plan.proof))
        bot_turn(page, "thanks, bye")
    else:
        bot_turn(page, f"my order {plan.order_number} is late")
        bot_turn(page, str(plan.proof))
        if plan.asks_for_person:
            mark = ask_for_person(page, plan)
        else:
            bot_turn(page, "ok, thanks")
    if mark is not None and page.log.stuck is None:
        wait_in_queue(page, plan, mark)


def run_customer(url: str, log: CustomerLog) -> None:
    """Plays one plan to its end; never raises (what went wrong is in the log)."""
    try:
        page = ChatPage(url, log)
    except (OSError, TimeoutError, WebSocketException) as error:
        log.stuck = f"could not open the chat: {error}"
        return
    try:
        _play(page, log.plan)
        page.linger(0.3)  # the last acknowledgements and deliveries
    except (OSError, TimeoutError, WebSocketException, ValueError) as error:
        log.stuck = log.stuck or f"{type(error).__name__}: {error}"
    finally:
        page.close()
