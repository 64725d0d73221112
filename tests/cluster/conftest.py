"""One cluster for the fault tests (as `make run-cluster` starts it, on free ports), put
right again after each test: whatever a test killed is started again before the next."""

from __future__ import annotations

import functools
import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.cluster.cluster import SECRET_NAMES, Cluster
from bot.cluster.layout import ClusterLayout
from tests.support.stack import LOOPBACK_CROWD_LIMITS
from tests.support.waiting import eventually

FAST = {
    **LOOPBACK_CROWD_LIMITS,
    "SHOPDESK_REPLAY_INTERVAL_SECONDS": "0.5",
    "SHOPDESK_JOB_LEASE_SECONDS": "3",
}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder: Path = tmp_path_factory.mktemp("cluster")
    layout = ClusterLayout.on_free_ports(folder)
    running = Cluster(
        layout, secrets={name: secrets.token_urlsafe(24) for name in SECRET_NAMES}, env=FAST
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()
        _drop_postgres_data(running)


@pytest.fixture(autouse=True)
def healed(cluster: Cluster) -> Iterator[None]:
    yield
    cluster.heal()


def _drop_postgres_data(cluster: Cluster) -> None:
    """The test cluster's PostgreSQL data lives outside the temporary folder as root."""
    shutil.rmtree(cluster.postgres.data, ignore_errors=True)


@functools.cache
def _database(url: str) -> sa.Engine:
    """One engine per database, without a pool: a connection kept across a PostgreSQL
    restart would be dead, and the tests poll often enough to make engines add up."""
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def query(
    cluster: Cluster, database: str, statement: str, **params: object
) -> list[tuple[Any, ...]]:
    """The rows of one statement on one of the cluster's databases."""
    with _database(cluster.layout.database_url(database)).connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(statement), params)]


def tracker_user_texts(cluster: Cluster, conversation_id: str) -> list[str]:
    """What the engines' shared tracker store holds as the customer's messages, in order,
    as Rasa reads it: a turn taken back (its action failed; the gateway keeps the message
    and sends it again) is a "rewind" event after it, and no longer counts."""
    rows = query(
        cluster,
        "rasa_tracker",
        "SELECT type_name, data FROM events WHERE sender_id = :id "
        "AND type_name IN ('user', 'rewind') ORDER BY id",
        id=conversation_id,
    )
    texts: list[str] = []
    for kind, data in rows:
        if kind == "user":
            texts.append(str(json.loads(data).get("text") or ""))
        elif texts:
            texts.pop()
    return texts


def stored_customer_texts(cluster: Cluster, conversation_id: str) -> list[str]:
    """The customer's messages as the gateways accepted them (stored), in order."""
    rows = query(
        cluster,
        "shopdesk",
        "SELECT text FROM messages WHERE conversation_id = :id AND direction = 'in' ORDER BY id",
        id=conversation_id,
    )
    return [str(text) for (text,) in rows]


def conversation_of_client_message(cluster: Cluster, client_message_id: str) -> str:
    """The conversation a web chat page's message (by the id the page gave it) went to."""
    [(conversation_id,)] = query(
        cluster,
        "shopdesk",
        "SELECT conversation_id FROM messages WHERE client_message_id = :id",
        id=client_message_id,
    )
    return str(conversation_id)


def tracked_once_answered(cluster: Cluster, conversation_id: str, count: int) -> list[str]:
    """The tracker's customer messages once there are `count` (kept turns are answered by
    the replayer a little later), within a minute."""
    eventually(
        lambda: len(tracker_user_texts(cluster, conversation_id)) >= count, "all answered", 60
    )
    return tracker_user_texts(cluster, conversation_id)


class ApiCustomer:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        created = http.post("/api/conversations").json()
        self.id, self.token = created["id"], created["token"]

    def send(self, text: str) -> httpx.Response:
        return self.http.post(
            f"/api/conversations/{self.id}/messages",
            json={"text": text},
            headers={"Authorization": f"Bearer {self.token}"},
        )
