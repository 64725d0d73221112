"""Redis away for 30 s under customers: nothing is lost, and the cluster recovers
without restarting anything.

While Redis is away the engines refuse every turn (their conversation lock is in it),
so each message is kept and answered with the apology; gateways order turns on their
own and do not hear each other. Once it is back, the replayer answers what was kept,
and a page on one gateway gets what another produced again."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import Page, expect

from bot.channels.relay import ENGINE_DOWN_REPLY
from bot.cluster.cluster import Cluster
from bot.cluster.layout import LOOPBACK
from tests.cluster.conftest import ApiCustomer, query, tracked_once_answered
from tests.support.browser import TIMEOUT_MS

REDIS_AWAY_SECONDS = 30.0


def _jobs_gateway(cluster: Cluster) -> str:
    """The gateway that holds the jobs' lease (the replayer runs there)."""
    [(holder,)] = query(
        cluster, "shopdesk", "SELECT holder FROM job_leases WHERE name = 'gateway-jobs'"
    )
    port = int(str(holder).rsplit(":", 1)[1])
    return f"gateway{cluster.layout.gateway_ports.index(port) + 1}"


def _last_message(page: Page) -> tuple[str, str]:
    last = page.locator("#messages .message").last
    return str(last.get_attribute("data-sender")), last.locator(".text").inner_text()


def _say_on_page(page: Page, text: str) -> None:
    """Until the answer is on screen: the bot's, or the notice that it is kept."""
    said = page.locator(".message[data-sender='customer']").count()
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")
    expect(page.locator(".message[data-sender='customer']")).to_have_count(said + 1)
    expect(page.locator("#messages .message").last).to_have_attribute(
        "data-sender", re.compile("^(bot|system)$"), timeout=TIMEOUT_MS
    )


def test_redis_away_for_30_s_loses_nothing_and_recovers_by_itself(
    page: Page, cluster: Cluster
) -> None:
    pids = {name: service.pid for name, service in cluster.services.items()}
    jobs = _jobs_gateway(cluster)
    elsewhere = next(name for name in pids if name.startswith("gateway") and name != jobs)
    port = cluster.layout.gateway_ports[int(elsewhere[-1]) - 1]
    # The page on the gateway that does not replay: what the replayer answers later has
    # to reach it through Redis.
    page.goto(f"http://{LOOPBACK}:{port}/")
    expect(page.locator("body")).to_have_attribute("data-connection", "open")
    _say_on_page(page, "hi")

    with httpx.Client(base_url=cluster.url, timeout=30) as http:
        customers = [ApiCustomer(http) for _ in range(5)]
        cluster.redis.stop()
        away_since = time.monotonic()
        during = [customer.send("how long do refunds take?") for customer in customers]
        _say_on_page(page, "what is your return policy?")
        time.sleep(max(0.0, REDIS_AWAY_SECONDS - (time.monotonic() - away_since)))
        cluster.redis.start()

        assert [response.status_code for response in during] == [200] * 5
        assert all(
            [m["text"] for m in response.json()["messages"]] == [ENGINE_DOWN_REPLY]
            for response in during
        )
        assert _last_message(page) == ("system", ENGINE_DOWN_REPLY)
        # Kept, then answered once Redis is back: each message once in the tracker.
        for customer in customers:
            assert tracked_once_answered(cluster, customer.id, 1) == ["how long do refunds take?"]
        # The page's kept message was answered by the other gateway's replayer.
        expect(page.locator("#messages .message").last).to_have_attribute(
            "data-sender", "bot", timeout=TIMEOUT_MS
        )
        assert "return" in _last_message(page)[1].lower()
        after = customers[0].send("thanks")
        assert after.status_code == 200
        assert ENGINE_DOWN_REPLY not in [m["text"] for m in after.json()["messages"]]

    assert {name: service.pid for name, service in cluster.services.items()} == pids
