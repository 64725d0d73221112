"""Conversation tests talk to the real stack through the gateway's HTTP chat API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
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


@pytest.fixture(scope="session")
def shipped_order(stack: Stack) -> dict[str, Any]:
    """An order with a carrier and tracking number, for the happy paths."""
    return next(o for o in stack.orders() if o["status"] == "in_transit" and o["tracking_number"])
