"""50 conversations, each with two clients sending at once, one through each gateway:
every message is answered once, and each conversation's events in the engines' shared
tracker store are in the order the gateways accepted the messages."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from bot.cluster.cluster import Cluster
from bot.cluster.layout import LOOPBACK
from tests.cluster.conftest import stored_customer_texts, tracked_once_answered

CONVERSATIONS = 50
# What each of the two clients says, in its order: questions the bot answers itself, so
# that no conversation is handed to a person midway (the engine would stop seeing it).
FIRST_CLIENT = ("hi", "how long do refunds take?")
SECOND_CLIENT = ("what is your return policy?", "thanks")


@dataclass
class Conversation:
    id: str
    token: str


async def _client(
    http: httpx.AsyncClient, conversation: Conversation, texts: tuple[str, ...]
) -> list[int]:
    """Sends its texts one after another; the status of each answer."""
    statuses = []
    for text in texts:
        response = await http.post(
            f"/api/conversations/{conversation.id}/messages",
            json={"text": text},
            headers={"Authorization": f"Bearer {conversation.token}"},
        )
        assert response.status_code != 200 or response.json()["messages"], response.text
        statuses.append(response.status_code)
    return statuses


async def _run(cluster: Cluster) -> tuple[list[Conversation], list[list[int]]]:
    one, two = (f"http://{LOOPBACK}:{port}" for port in cluster.layout.gateway_ports)
    limits = httpx.Limits(max_connections=2 * CONVERSATIONS)
    async with (
        httpx.AsyncClient(base_url=one, timeout=60, limits=limits) as first,
        httpx.AsyncClient(base_url=two, timeout=60, limits=limits) as second,
    ):
        conversations = []
        for _ in range(CONVERSATIONS):
            created = (await first.post("/api/conversations")).json()
            conversations.append(Conversation(created["id"], created["token"]))
        results = await asyncio.gather(
            *(_client(first, c, FIRST_CLIENT) for c in conversations),
            *(_client(second, c, SECOND_CLIENT) for c in conversations),
        )
    return conversations, list(results)


def test_two_clients_per_conversation_across_both_gateways_keep_order_once(
    cluster: Cluster,
) -> None:
    conversations, statuses = asyncio.run(_run(cluster))

    assert all(status == 200 for client in statuses for status in client)
    sent = sorted(FIRST_CLIENT + SECOND_CLIENT)
    for conversation in conversations:
        stored = stored_customer_texts(cluster, conversation.id)
        assert sorted(stored) == sent, conversation.id
        # A turn the engines could not finish in time was kept (the client got the
        # apology) and is answered by the replayer: eventually, still in order, once.
        tracked = tracked_once_answered(cluster, conversation.id, len(sent))
        assert tracked == stored, conversation.id
