"""A gateway killed (SIGKILL) under a customer's open web chat, in a real browser through
the load balancer: the page reconnects to the other gateway by itself, and every
message is answered exactly once, shown once, and in the engines' tracker once.
Killed between two messages, and again right after a message left the page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from bot.cluster.cluster import Cluster
from tests.cluster.conftest import (
    conversation_of_client_message,
    stored_customer_texts,
    tracker_user_texts,
)
from tests.support.browser import TIMEOUT_MS
from tests.support.waiting import eventually


def _accepted_sockets(cluster: Cluster) -> dict[str, int]:
    """How many web chat sockets each gateway has accepted, from its access log."""
    return {
        name: service.tail(10**7).count('"WebSocket /ws/chat" [accepted]')
        for name, service in cluster.services.items()
        if name.startswith("gateway")
    }


def _socket_holder(cluster: Cluster, before: dict[str, int]) -> str:
    after = _accepted_sockets(cluster)
    [holder] = [name for name in after if after[name] > before.get(name, 0)]
    return holder


def _open(page: Page, cluster: Cluster) -> str:
    before = _accepted_sockets(cluster)
    page.goto(cluster.url + "/")
    expect(page.locator("body")).to_have_attribute("data-connection", "open")
    eventually(lambda: sum(_accepted_sockets(cluster).values()) > sum(before.values()), "log", 10)
    return _socket_holder(cluster, before)


def _send(page: Page, text: str) -> None:
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")


def _wait_answered(page: Page, said: int) -> None:
    """Until the bot has answered the customer's `said`-th message."""
    messages = page.locator("#messages .message")
    expect(page.locator(".message[data-sender='customer']")).to_have_count(said)
    expect(messages.last).to_have_attribute("data-sender", "bot", timeout=TIMEOUT_MS)
    expect(page.locator("#typing")).to_be_hidden()


def _reconnected_elsewhere(page: Page, cluster: Cluster, before: dict[str, int]) -> str:
    expect(page.locator("body")).to_have_attribute("data-connection", "open", timeout=TIMEOUT_MS)
    eventually(lambda: _accepted_sockets(cluster) != before, "a new socket", 30)
    return _socket_holder(cluster, before)


def test_the_web_chat_moves_to_the_other_gateway_and_nothing_is_lost_or_doubled(
    page: Page, cluster: Cluster
) -> None:
    holder = _open(page, cluster)
    _send(page, "hi")
    _wait_answered(page, 1)
    client_id = page.locator(".message[data-sender='customer']").first.get_attribute(
        "data-client-id"
    )
    assert client_id is not None
    conversation_id = conversation_of_client_message(cluster, client_id)

    # Between two messages.
    before = _accepted_sockets(cluster)
    cluster.services[holder].kill()
    holder = _reconnected_elsewhere(page, cluster, before)
    _send(page, "how long do refunds take?")
    _wait_answered(page, 2)
    cluster.heal()

    # Right after a message left the page: its turn may be under way on the gateway.
    before = _accepted_sockets(cluster)
    _send(page, "what is your return policy?")
    cluster.services[holder].kill()
    _reconnected_elsewhere(page, cluster, before)
    _wait_answered(page, 3)

    sent = ["hi", "how long do refunds take?", "what is your return policy?"]
    shown = page.locator(".message[data-sender='customer'] .text").all_inner_texts()
    ids = page.locator("#messages .message").evaluate_all("nodes => nodes.map(n => n.dataset.id)")
    assert shown == sent
    assert None not in ids and len(ids) == len(set(ids))
    assert stored_customer_texts(cluster, conversation_id) == sent
    eventually(lambda: len(tracker_user_texts(cluster, conversation_id)) >= 3, "tracked", 30)
    assert tracker_user_texts(cluster, conversation_id) == sent
