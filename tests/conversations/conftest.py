"""Conversation tests talk to the real stack through the gateway's HTTP chat API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.fake_telegram import FakeTelegram
from tests.support.stack import LOOPBACK_CROWD_LIMITS, Stack, running_stack


@pytest.fixture(scope="session")
def telegram() -> Iterator[FakeTelegram]:
    """The Bot API the stack's gateway polls, on loopback."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, telegram: FakeTelegram) -> Iterator[Stack]:
    telegram_env = {
        **LOOPBACK_CROWD_LIMITS,
        "TELEGRAM_TOKEN": telegram.token,
        "TELEGRAM_WEBHOOK_URL": "",
        "SHOPDESK_TELEGRAM_API_URL": telegram.base_url,
    }
    with running_stack(tmp_path_factory.mktemp("stack"), extra_env=telegram_env) as running:
        yield running


class Chat:
    """One customer's conversation, as a client of the gateway sees it."""

    def __init__(self, stack: Stack) -> None:
        self.http = httpx.Client(base_url=stack.gateway_url, timeout=30)
        created = self.http.post("/api/conversations")
        assert created.status_code == 201, created.text
        self.id: str = created.json()["id"]
        self.token: str = created.json()["token"]

    def send(self, text: str, *, token: str | None = None) -> httpx.Response:
        return self.http.post(
            f"/api/conversations/{self.id}/messages",
            json={"text": text},
            headers={"Authorization": f"Bearer {token or self.token}"},
        )

    def say(self, text: str) -> str:
        """The bot's replies to one message, joined, for assertions on what the customer sees."""
        response = self.send(text)
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return "\n".join(message.get("text") or "" for message in messages)


@pytest.fixture
def chat(stack: Stack) -> Iterator[Chat]:
    conversation = Chat(stack)
    yield conversation
    conversation.http.close()


class OrderPicker:
    """Hands each test its own demo order, since some flows change the order they touch."""

    def __init__(self, orders: list[dict[str, Any]]) -> None:
        self._orders = orders
        self._taken: set[str] = set()
        self._lent = 0

    def take(self, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for order in self._orders:
            if order["order_number"] not in self._taken and matches(order):
                self._taken.add(order["order_number"])
                return order
        raise LookupError("no demo order left that matches")

    def lend(self, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """An order for a test that only reads it: lent in turn, never taken from others."""
        free = [o for o in self._orders if o["order_number"] not in self._taken and matches(o)]
        if not free:
            raise LookupError("no demo order left that matches")
        self._lent += 1
        return free[self._lent % len(free)]


@pytest.fixture(scope="session")
def orders(stack: Stack) -> OrderPicker:
    return OrderPicker(stack.orders())


@pytest.fixture
def shipped_order(orders: OrderPicker) -> dict[str, Any]:
    """An order with a carrier and tracking number, for the happy paths."""
    return orders.take(lambda o: o["status"] == "in_transit" and bool(o["tracking_number"]))


def verify(chat: Chat, request: str, order: dict[str, Any]) -> str:
    """Asks about `order` in the customer's words, proves ownership, returns the answer."""
    chat.say(f"{request} {order['order_number']}")
    return chat.say(order["email"])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The share of the customer conversation suite that passes, for `make eval`."""
    suite = "test_customer_suite.py::"
    outcomes = [
        report.outcome
        for key in ("passed", "failed", "error")
        for report in terminalreporter.stats.get(key, [])
        if getattr(report, "when", "call") == "call" and suite in getattr(report, "nodeid", "")
    ]
    if outcomes:
        passed = outcomes.count("passed")
        share = 100 * passed / len(outcomes)
        terminalreporter.write_line(
            f"Customer conversation suite: {passed} of {len(outcomes)} conversations pass "
            f"({share:.1f}%)"
        )
