"""The engine stops in the middle of a conversation: nothing is lost, everything is answered.

Runs through the web chat's WebSocket, so the answers that come after the restart
reach the customer's open page without another message from them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from websockets.sync.client import ClientConnection, connect

from bot.channels.relay import ENGINE_DOWN_REPLY
from tests.conversations.conftest import OrderPicker
from tests.support.stack import Stack


class Page:
    """What a browser's chat page does on the socket, minus the rendering."""

    def __init__(self, stack: Stack) -> None:
        url = stack.gateway_url.replace("http://", "ws://") + "/ws/chat"
        self.socket: ClientConnection = connect(url, open_timeout=10)
        self.socket.send(json.dumps({"type": "hello", "session": None, "last_seen": 0}))
        self.welcome = self.next_frame()
        self.seen: list[dict[str, Any]] = []

    def next_frame(self, timeout: float = 60) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(self.socket.recv(timeout=timeout))
        return frame

    def say(self, client_id: str, text: str) -> list[str]:
        """Sends, then collects what is shown until the bot stops typing."""
        self.socket.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
        shown: list[str] = []
        while True:
            frame = self.next_frame()
            if frame["type"] == "message":
                shown.append(frame["message"]["text"] or "")
            if frame["type"] == "typing" and not frame["on"]:
                return shown

    def wait_for_bot_messages(self, count: int, timeout: float) -> list[str]:
        shown: list[str] = []
        deadline = time.monotonic() + timeout
        while len(shown) < count:
            frame = self.next_frame(timeout=max(0.1, deadline - time.monotonic()))
            if frame["type"] == "message" and frame["message"]["sender"] == "bot":
                shown.append(frame["message"]["text"] or "")
        return shown


@pytest.fixture
def page(stack: Stack) -> Iterator[Page]:
    opened = Page(stack)
    yield opened
    opened.socket.close()


def test_messages_sent_while_the_engine_is_down_are_answered_after_it_restarts(
    stack: Stack, page: Page, orders: OrderPicker
) -> None:
    order = orders.take(lambda o: o["status"] == "in_transit" and bool(o["tracking_number"]))
    assert page.say("before-0001", "hello")  # the engine is up and answers

    stack.engine_control.stop()
    try:
        during = [
            page.say("during-0001", f"where is my order {order['order_number']}"),
            page.say("during-0002", order["phone_last4"]),
        ]
    finally:
        stack.engine_control.start()
    stack.engine_control.wait_ready()
    after = page.wait_for_bot_messages(2, timeout=60)

    assert during == [[ENGINE_DOWN_REPLY], [ENGINE_DOWN_REPLY]]
    # In order: the question about the order number, then the answer to the proof.
    assert "last four digits" in after[0]
    assert order["tracking_number"] in after[1]
    engine = sa.create_engine(stack.database_url)
    with engine.connect() as db:
        rows = db.execute(
            sa.text(
                "SELECT direction, delivery_state, text FROM messages "
                "WHERE conversation_id = :c ORDER BY id"
            ),
            {"c": page.welcome["conversation_id"]},
        ).all()
    engine.dispose()
    inbound = [(state, text) for direction, state, text in rows if direction == "in"]
    assert inbound == [
        ("processed", "hello"),
        ("processed", f"where is my order {order['order_number']}"),
        ("processed", order["phone_last4"]),
    ]


def test_a_message_that_needs_the_stopped_action_server_is_kept_and_answered_later(
    stack: Stack, page: Page, orders: OrderPicker
) -> None:
    order = orders.take(lambda o: o["status"] == "in_transit" and bool(o["tracking_number"]))
    assert "last four digits" in " ".join(page.say("ask-0001", f"order {order['order_number']}"))

    stack.actions_control.stop()
    try:
        during = page.say("proof-0001", order["phone_last4"])
    finally:
        stack.actions_control.start()
    stack.actions_control.wait_ready(60)
    after = page.wait_for_bot_messages(1, timeout=60)

    # Rasa carries on after a failed action; the gateway must not take its silence as
    # an answer.
    assert during == [ENGINE_DOWN_REPLY]
    assert order["tracking_number"] in after[0]


def test_an_unclear_message_kept_while_actions_were_down_counts_once(
    stack: Stack, page: Page
) -> None:
    stack.actions_control.stop()
    try:
        during = page.say("unclear-0001", "zxqv blorf wibble")
    finally:
        stack.actions_control.start()
    stack.actions_control.wait_ready(60)
    after = page.wait_for_bot_messages(1, timeout=60)

    # Had the failed turn stayed in the dialogue, the retry would be the second message
    # in a row the bot did not understand, and it would hand the customer to a person.
    assert during == [ENGINE_DOWN_REPLY]
    assert "I didn't quite understand" in after[0]
    tracker = httpx.get(
        f"{stack.rasa_url}/conversations/{page.welcome['conversation_id']}/tracker",
        params={"token": stack.rasa_token, "include_events": "ALL"},
        timeout=30,
    ).json()
    kinds = [event["event"] for event in tracker["events"]]
    assert kinds.count("user") == 2 and "rewind" in kinds
