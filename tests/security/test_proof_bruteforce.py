"""Brute force of the ownership proof, against the real stack (issue 19, finding 1).

The proof is an order number and the last four digits of the phone: 10,000 values.
Failures now count per order across every conversation and channel, and per
client across orders, in Shopdesk's database; a locked order refuses even the
right digits. (How many guesses a day that leaves: tests/bot/domain/test_proof_limits.py.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import websockets

from tests.security.conftest import Client
from tests.support.stack import Stack

LOCKED = "For your security I can't check that order right now"
NEUTRAL_FAILURE = "couldn't match those details to an order"


class Orders:
    def __init__(self, stack: Stack) -> None:
        self._left = [
            order
            for order in stack.orders()
            if order["status"] == "in_transit" and order["tracking_number"]
        ]

    def take(self) -> dict[str, Any]:
        return self._left.pop()


@pytest.fixture(scope="module")
def orders(security_stack: Stack) -> Orders:
    return Orders(security_stack)


@pytest.fixture
def clients(security_stack: Stack) -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


def _client(stack: Stack, clients: list[Client], address: str) -> Client:
    client = Client(stack, address)
    clients.append(client)
    return client


def _guess(order: dict[str, Any], offset: int) -> str:
    """A wrong proof with its order number: after a failure the bot asks for both again."""
    digits = f"{(int(order['phone_last4']) + offset) % 10000:04d}"
    return f"order {order['order_number']}, phone ends {digits}"


def _lock_out(stack: Stack, clients: list[Client], order: dict[str, Any], *, attacker: str) -> None:
    """Five wrong proofs for `order` from `attacker`: enough to lock it."""
    client = _client(stack, clients, attacker)
    client.new_conversation()
    for guess in range(1, 6):
        client.say(_guess(order, guess))


def _failed_proofs(stack: Stack, order_number: str) -> int:
    engine = sa.create_engine(stack.database_url)
    with engine.connect() as connection:
        count = connection.execute(
            sa.text(
                "SELECT count(*) FROM proof_attempts WHERE order_number = :n AND NOT succeeded"
            ),
            {"n": order_number},
        ).scalar_one()
    engine.dispose()
    return int(count)


def test_an_attacker_cycling_conversations_gets_five_guesses_then_nothing(
    security_stack: Stack, orders: Orders, clients: list[Client]
) -> None:
    order = orders.take()
    attacker = _client(security_stack, clients, "203.0.113.10")
    replies = []
    for guess in range(1, 13):
        if guess % 3 == 1:  # a fresh conversation every three guesses
            assert attacker.new_conversation().status_code == 201
        replies.append(attacker.say(_guess(order, guess)))

    attacker.new_conversation()
    attacker.say(f"where is order {order['order_number']}")
    with_the_right_digits = attacker.say(order["phone_last4"])

    assert all(NEUTRAL_FAILURE in reply for reply in replies[:5])
    assert all(LOCKED in reply for reply in replies[5:])
    assert LOCKED in with_the_right_digits
    assert order["tracking_number"] not in with_the_right_digits
    assert _failed_proofs(security_stack, order["order_number"]) == 5


def test_the_real_customer_from_elsewhere_is_refused_too_and_pointed_to_a_person(
    security_stack: Stack, orders: Orders, clients: list[Client]
) -> None:
    order = orders.take()
    _lock_out(security_stack, clients, order, attacker="203.0.113.11")

    customer = _client(security_stack, clients, "198.51.100.11")
    customer.new_conversation()
    customer.say(f"where is order {order['order_number']}")
    reply = customer.say(order["email"])

    assert LOCKED in reply and "ask me for a person" in reply
    assert order["tracking_number"] not in reply


def test_a_customer_who_mistypes_twice_still_gets_in(
    security_stack: Stack, orders: Orders, clients: list[Client]
) -> None:
    order = orders.take()
    customer = _client(security_stack, clients, "198.51.100.12")
    customer.new_conversation()
    customer.say(f"where is order {order['order_number']}")

    first = customer.say(f"{(int(order['phone_last4']) + 1) % 10000:04d}")
    second = customer.say(_guess(order, 2))
    answer = customer.say(f"it's order {order['order_number']}, phone {order['phone_last4']}")

    assert NEUTRAL_FAILURE in first and NEUTRAL_FAILURE in second
    assert order["tracking_number"] in answer


def test_a_client_walking_order_numbers_is_stopped_across_orders(
    security_stack: Stack, orders: Orders, clients: list[Client]
) -> None:
    walker = _client(security_stack, clients, "203.0.113.12")
    for index, number in enumerate(range(109_000, 109_010)):
        if index % 4 == 0:  # under the conversation's own limit of five
            walker.new_conversation()
        walker.say(f"where is order {number}")
        walker.say("1234")

    target = orders.take()
    walker.new_conversation()
    walker.say(f"where is order {target['order_number']}")
    reply = walker.say(target["phone_last4"])

    assert LOCKED in reply and "from here" in reply
    assert target["tracking_number"] not in reply


async def _web_chat_turn(stack: Stack, address: str, texts: list[str]) -> str:
    """One web chat page at `address`; returns the bot's answer to the last text."""
    url = stack.gateway_url.replace("http://", "ws://") + "/ws/chat"
    async with websockets.connect(url, additional_headers={"X-Forwarded-For": address}) as page:
        await page.send(json.dumps({"type": "hello"}))
        assert json.loads(await page.recv())["type"] == "welcome"
        answer = ""
        for index, text in enumerate(texts):
            await page.send(
                json.dumps({"type": "message", "client_id": f"m-{index:06d}", "text": text})
            )
            answer = ""
            while True:
                frame = json.loads(await asyncio.wait_for(page.recv(), timeout=30))
                if frame["type"] == "message" and frame["message"]["sender"] == "bot":
                    answer += frame["message"]["text"] or ""
                if frame["type"] == "typing" and frame["on"] is False:
                    break
        return answer


def test_failures_on_the_api_lock_the_order_in_the_web_chat_too(
    security_stack: Stack, orders: Orders, clients: list[Client]
) -> None:
    order = orders.take()
    _lock_out(security_stack, clients, order, attacker="203.0.113.13")

    answer = asyncio.run(
        _web_chat_turn(
            security_stack,
            "203.0.113.14",
            [f"where is order {order['order_number']}", order["phone_last4"]],
        )
    )

    assert LOCKED in answer
    assert order["tracking_number"] not in answer
