"""PostgreSQL restarted (a fast shutdown, five seconds away) while customers keep
writing: what could not be stored is refused with a retryable 503 and Retry-After, and
every message acknowledged (200) is in the database afterwards. The counts are printed."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx

from bot.cluster.cluster import Cluster
from tests.cluster.conftest import ApiCustomer, stored_customer_texts

POSTGRES_AWAY_SECONDS = 5.0


async def _keep_sending(
    http: httpx.AsyncClient, customer: tuple[str, str], stop_at: float
) -> list[tuple[str, int, str | None]]:
    """(text, status, Retry-After) for each message, one after another until `stop_at`."""
    conversation_id, token = customer
    results = []
    number = 0
    while time.monotonic() < stop_at:
        number += 1
        text = f"where is my order? ({conversation_id[:6]}-{number})"
        try:
            response = await http.post(
                f"/api/conversations/{conversation_id}/messages",
                json={"text": text},
                headers={"Authorization": f"Bearer {token}"},
            )
            results.append((text, response.status_code, response.headers.get("Retry-After")))
        except httpx.HTTPError as error:
            results.append((text, 0, type(error).__name__))
        await asyncio.sleep(0.2)
    return results


async def _through_a_restart(
    cluster: Cluster, customers: list[tuple[str, str]]
) -> list[list[tuple[str, int, str | None]]]:
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
        stop_at = time.monotonic() + 4 + POSTGRES_AWAY_SECONDS + 6
        sending = [asyncio.create_task(_keep_sending(http, c, stop_at)) for c in customers]
        await asyncio.sleep(4)
        await asyncio.to_thread(cluster.postgres.stop)
        await asyncio.sleep(POSTGRES_AWAY_SECONDS)
        await asyncio.to_thread(cluster.postgres.start)
        return list(await asyncio.gather(*sending))


def test_a_postgres_restart_refuses_clearly_and_loses_nothing_acknowledged(
    cluster: Cluster,
) -> None:
    with httpx.Client(base_url=cluster.url, timeout=30) as http:
        customers = [ApiCustomer(http) for _ in range(8)]
    per_customer = asyncio.run(
        _through_a_restart(cluster, [(customer.id, customer.token) for customer in customers])
    )

    outcomes = Counter(status for sent in per_customer for _, status, _ in sent)
    refused = [
        (text, retry) for sent in per_customer for text, status, retry in sent if status == 503
    ]
    print(f"\nPostgreSQL restart: {dict(outcomes)} (200 acknowledged, 503 refused to retry)")
    assert set(outcomes) <= {200, 503}, outcomes
    assert outcomes[503] > 0 and outcomes[200] > 0  # the restart was felt, and got through
    assert all(retry == "5" for _, retry in refused)
    for customer, sent in zip(customers, per_customer, strict=True):
        acknowledged = [text for text, status, _ in sent if status == 200]
        stored = stored_customer_texts(cluster, customer.id)
        assert [text for text in stored if text in acknowledged] == acknowledged
