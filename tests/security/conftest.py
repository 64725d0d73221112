"""A real stack with the real limits, for attacks that need the engine and the actions.

It believes X-Forwarded-For from 127.0.0.1, as a gateway behind a proxy would, so
each simulated client (attacker, customer) can come from an address of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="session")
def security_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"SHOPDESK_TRUSTED_PROXIES": "127.0.0.1", "TELEGRAM_TOKEN": ""}
    with running_stack(tmp_path_factory.mktemp("security-stack"), extra_env=env) as stack:
        yield stack


class Client:
    """Someone at one address, talking to the gateway's HTTP chat API."""

    def __init__(self, stack: Stack, address: str) -> None:
        self.address = address
        self.http = httpx.Client(
            base_url=stack.gateway_url, timeout=30, headers={"X-Forwarded-For": address}
        )
        self.conversation = ""
        self.token = ""

    def new_conversation(self) -> httpx.Response:
        response = self.http.post("/api/conversations")
        if response.status_code == 201:
            self.conversation, self.token = response.json()["id"], response.json()["token"]
        return response

    def say(self, text: str) -> str:
        response = self.http.post(
            f"/api/conversations/{self.conversation}/messages",
            json={"text": text},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return "\n".join(message.get("text") or "" for message in messages)

    def close(self) -> None:
        self.http.close()
