"""Simulated agents for `make bench-surge`, and a watcher of the queue, over the console API.

Each agent is a thread with its own httpx client and cookie (docs/console-api.md): it logs
in, becomes available, polls the queue, takes the first waiting conversation it can (a 409
means another agent was faster: it tries the next one), greets the customer, holds the chat
for a handling time drawn from its own seeded generator, says goodbye and closes it with a
resolution. Agents are created with the command line, as an operator would.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.stack import ROOT

PASSWORD = "a long bench password"  # noqa: S105 (agents of a throw-away bench database)
POLL_SECONDS = 0.5
HTTP_TIMEOUT = 15.0


@dataclass(frozen=True)
class AgentAccount:
    username: str
    display_name: str
    capacity: int


def create_agents(database_url: str, count: int, capacity: int) -> list[AgentAccount]:
    accounts = [AgentAccount(f"bench{n}", f"Agent {n}", capacity) for n in range(1, count + 1)]
    for account in accounts:
        subprocess.run(  # noqa: S603 (our own command line, fixed arguments)
            [str(ROOT / ".venv/bin/shopdesk"), "agents", "add", account.username,
             "--name", account.display_name, "--capacity", str(capacity), "--password-stdin"],
            input=PASSWORD + "\n", text=True, check=True, capture_output=True,
            env={**os.environ, "DATABASE_URL": database_url},
        )  # fmt: skip
    return accounts


def logged_in(base_url: str, account: AgentAccount) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=HTTP_TIMEOUT)
    answer = client.post(
        "/api/console/login", json={"username": account.username, "password": PASSWORD}
    )
    answer.raise_for_status()
    return client


@dataclass
class AgentStats:
    takes: int = 0
    conflicts: int = 0  # 409 on take: someone else was faster, or the customer left
    closes: int = 0
    http_errors: list[str] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)  # handoff ids this agent got a 200 for


class SimulatedAgent(threading.Thread):
    def __init__(
        self,
        base_url: str,
        account: AgentAccount,
        *,
        seed: int,
        mean_handling_seconds: float,
        handling_sigma: float,
    ) -> None:
        super().__init__(name=account.username, daemon=True)
        self.account = account
        self.stats = AgentStats()
        self._base_url = base_url
        self._rng = random.Random(seed)  # noqa: S311 (a simulation, not secrets)
        # Log-normal with the given mean: mu = ln(mean) - sigma^2 / 2.
        self._mu = math.log(mean_handling_seconds) - handling_sigma**2 / 2
        self._sigma = handling_sigma
        self._open: dict[int, float] = {}  # handoff id -> when to close (monotonic)
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        try:
            self._work()
        except Exception as error:  # reported in the summary, never silent
            self.stats.http_errors.append(f"agent stopped: {type(error).__name__}: {error}")

    def _work(self) -> None:
        client = logged_in(self._base_url, self.account)
        try:
            client.put("/api/console/me/status", json={"status": "available"}).raise_for_status()
            while not self._stopping.is_set():
                try:
                    self._step(client)
                except httpx.HTTPError as error:
                    self.stats.http_errors.append(f"{type(error).__name__}: {error}")
                self._stopping.wait(POLL_SECONDS)
            for handoff_id in list(self._open):  # the bench is over: finish what is open
                self._close(client, handoff_id)
            client.put("/api/console/me/status", json={"status": "away"})
        finally:
            client.close()

    def _step(self, client: httpx.Client) -> None:
        now = time.monotonic()
        for handoff_id, due in list(self._open.items()):
            if now >= due:
                self._close(client, handoff_id)
        if len(self._open) < self.account.capacity:
            self._take_one(client)

    def _take_one(self, client: httpx.Client) -> None:
        queue = client.get("/api/console/queue")
        queue.raise_for_status()
        for entry in queue.json()["waiting"]:
            taken = client.post(f"/api/console/handoffs/{entry['id']}/take")
            if taken.status_code in (404, 409):
                self.stats.conflicts += 1
                continue
            taken.raise_for_status()
            self.stats.takes += 1
            self.stats.taken.append(int(entry["id"]))
            self._open[int(entry["id"])] = time.monotonic() + self._handling_seconds()
            self._say(
                client,
                int(entry["id"]),
                f"Hi, I'm {self.account.display_name}. I'm looking at your conversation now.",
            )
            return

    def _close(self, client: httpx.Client, handoff_id: int) -> None:
        self._say(client, handoff_id, "That's sorted. Thanks for your patience!")
        closed = client.post(
            f"/api/console/handoffs/{handoff_id}/close", json={"resolution": "resolved"}
        )
        if closed.status_code == 200:
            self.stats.closes += 1
        else:
            self.stats.http_errors.append(f"close {handoff_id}: {closed.status_code}")
        del self._open[handoff_id]

    def _say(self, client: httpx.Client, handoff_id: int, text: str) -> None:
        sent = client.post(f"/api/console/handoffs/{handoff_id}/messages", json={"text": text})
        if sent.status_code != 200:
            self.stats.http_errors.append(f"message to {handoff_id}: {sent.status_code}")

    def _handling_seconds(self) -> float:
        return self._rng.lognormvariate(self._mu, self._sigma)


@dataclass(frozen=True)
class QueueSample:
    at: float  # monotonic
    waiting: int
    agents_available: int
    surge_active: bool
    surge_reasons: tuple[str, ...]


class QueueWatcher(threading.Thread):
    """Reads `GET /api/console/queue` every second with its own session (as a team lead's
    console would), so the report can say how long the queue got and what the console said."""

    def __init__(self, base_url: str, account: AgentAccount) -> None:
        super().__init__(name="queue-watcher", daemon=True)
        self.samples: list[QueueSample] = []
        self._client = logged_in(base_url, account)
        self._stopping = threading.Event()

    def read(self) -> dict[str, Any]:
        answer = self._client.get("/api/console/queue")
        answer.raise_for_status()
        queue: dict[str, Any] = answer.json()
        return queue

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.wait(1.0):
            try:
                queue = self.read()
            except httpx.HTTPError:
                continue
            self.samples.append(
                QueueSample(
                    at=time.monotonic(),
                    waiting=len(queue["waiting"]),
                    agents_available=int(queue["agents_available"]),
                    surge_active=bool(queue["surge"]["active"]),
                    surge_reasons=tuple(queue["surge"]["reasons"]),
                )
            )
        self._client.close()
