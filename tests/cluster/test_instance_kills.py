"""An engine or an action server killed (SIGKILL) while customers' turns run on it: the
load balancer sends new turns to the survivor, the turns that were under way are kept
and answered by the survivor within 5 s, and no turn is answered twice."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from bot.channels.relay import ENGINE_DOWN_REPLY
from bot.cluster.cluster import Cluster
from tests.cluster.conftest import stored_customer_texts, tracked_once_answered

CUSTOMERS = 12
# Questions the knowledge base answers: every turn calls an action server.
QUESTIONS = ("how long do refunds take?", "what is your return policy?", "do you ship abroad?")
KILL_AFTER_SECONDS = 1.0
ANSWERED_WITHIN_SECONDS = 5.0


class AnsweredWatch:
    """Notes when each kept message is answered (its row leaves "pending"), from the
    database, every 100 ms, while the customers talk."""

    def __init__(self, cluster: Cluster) -> None:
        self._database = sa.create_engine(cluster.layout.database_url("shopdesk"))
        self.kept_at: dict[int, float] = {}
        self.answered_at: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> AnsweredWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._database.dispose()

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            with self._database.connect() as connection:
                rows = connection.execute(
                    sa.text(
                        "SELECT id, delivery_state FROM messages "
                        "WHERE direction = 'in' AND delivery_state IN ('pending', 'processed')"
                    )
                ).all()
            now = time.monotonic()
            for message_id, state in rows:
                if state == "pending":
                    self.kept_at.setdefault(message_id, now)
                elif message_id in self.kept_at:
                    self.answered_at.setdefault(message_id, now)

    def waits(self) -> list[float]:
        return [
            self.answered_at[m] - self.kept_at[m] for m in self.kept_at if m in self.answered_at
        ]


async def _customer(http: httpx.AsyncClient) -> tuple[str, list[bool]]:
    """A conversation of three questions; whether each got the apology (was kept)."""
    created = (await http.post("/api/conversations")).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    kept = []
    for question in QUESTIONS:
        response = await http.post(
            f"/api/conversations/{created['id']}/messages", json={"text": question}, headers=auth
        )
        assert response.status_code == 200, response.text
        kept.append(ENGINE_DOWN_REPLY in [m["text"] for m in response.json()["messages"]])
    return created["id"], kept


async def _talk_while_killing(cluster: Cluster, victim: str) -> list[tuple[str, list[bool]]]:
    async with httpx.AsyncClient(base_url=cluster.url, timeout=60) as http:
        talking = asyncio.gather(*(_customer(http) for _ in range(CUSTOMERS)))
        await asyncio.sleep(KILL_AFTER_SECONDS)
        cluster.services[victim].kill()
        return list(await talking)


@pytest.mark.parametrize("victim", ["engine1", "actions1"])
def test_a_killed_instances_turns_are_answered_by_the_other_once_within_5_s(
    cluster: Cluster, victim: str
) -> None:
    with AnsweredWatch(cluster) as watch:
        conversations = asyncio.run(_talk_while_killing(cluster, victim))
        assert not cluster.services[victim].running
        tracked = {c: tracked_once_answered(cluster, c, len(QUESTIONS)) for c, _ in conversations}
        time.sleep(0.3)  # the watch's last look

    kept = sum(sum(flags) for _, flags in conversations)
    waits = watch.waits()
    print(
        f"\n{victim} killed: {kept} of {CUSTOMERS * len(QUESTIONS)} turns kept, "
        f"answered after at most {max(waits, default=0.0):.1f} s"
    )
    for conversation_id, _ in conversations:
        assert stored_customer_texts(cluster, conversation_id) == list(QUESTIONS)
        assert tracked[conversation_id] == list(QUESTIONS)
    assert len(waits) == len(watch.kept_at)
    assert all(wait <= ANSWERED_WITHIN_SECONDS for wait in waits), waits
