"""The web chat in a real browser (Debian's Chromium, driven by Playwright) on the real stack."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from tests.conversations.conftest import OrderPicker
from tests.support.browser import TIMEOUT_MS, ScriptErrors
from tests.support.ports import free_port
from tests.support.stack import Stack


def _open_chat(page: Page, stack: Stack) -> None:
    page.goto(stack.gateway_url + "/")
    expect(page.locator("body")).to_have_attribute("data-connection", "open")


def _say(page: Page, text: str) -> None:
    """Types like a customer, then waits until the bot's answer is on screen."""
    answered_before = page.locator(".message[data-sender='bot']").count()
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")
    expect(page.locator(".message[data-sender='bot']")).to_have_count(
        answered_before + 1, timeout=TIMEOUT_MS
    )
    expect(page.locator("#typing")).to_be_hidden()


def _transcript(page: Page) -> list[tuple[str, str]]:
    messages = page.locator("#messages .message")
    return [
        (
            str(messages.nth(i).get_attribute("data-sender")),
            messages.nth(i).locator(".text").inner_text(),
        )
        for i in range(messages.count())
    ]


def test_an_order_status_conversation_survives_a_reload(
    page: Page, stack: Stack, orders: OrderPicker
) -> None:
    order: dict[str, Any] = orders.take(
        lambda o: o["status"] == "in_transit" and bool(o["tracking_number"])
    )
    _open_chat(page, stack)
    _say(page, f"where is my order {order['order_number']}?")
    before_reload = _transcript(page)

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-connection", "open")
    expect(page.locator("#messages .message")).to_have_count(len(before_reload))
    after_reload = _transcript(page)
    _say(page, order["phone_last4"])

    assert after_reload == before_reload
    assert before_reload[0] == ("customer", f"where is my order {order['order_number']}?")
    assert "last four digits" in before_reload[1][1]
    final = _transcript(page)
    assert final[: len(before_reload)] == before_reload
    assert final[len(before_reload)] == ("customer", order["phone_last4"])
    answer = "\n".join(text for sender, text in final[len(before_reload) + 1 :])
    assert order["tracking_number"] in answer
    # Every message once, each with its stored id and a time.
    ids = page.locator("#messages .message").evaluate_all("nodes => nodes.map(n => n.dataset.id)")
    assert None not in ids and len(ids) == len(set(ids))
    expect(page.locator("#messages .message time").first).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d{2}-\d{2}T")
    )


def test_quick_replies_work_from_the_keyboard(page: Page, stack: Stack) -> None:
    _open_chat(page, stack)
    _say(page, "zxqv blorf wibble")  # nothing the bot understands: it offers topics
    topic = page.locator(".quick-replies button", has_text="Where is my order?")
    expect(topic).to_be_visible()

    topic.focus()
    page.keyboard.press("Enter")

    expect(page.locator(".message[data-sender='customer']").last).to_contain_text(
        "Where is my order?"
    )
    expect(page.locator(".message[data-sender='bot']").last).to_contain_text("order number")
    expect(page.locator(".quick-replies button", has_text="My order is late")).to_have_count(0)


def test_markup_from_a_customer_is_shown_as_text_and_never_runs(page: Page, stack: Stack) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    response = page.goto(stack.gateway_url + "/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    expect(page.locator("body")).to_have_attribute("data-connection", "open")
    payload = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b>bold</b>'

    _say(page, payload)

    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    customer = page.locator(".message[data-sender='customer'] .text").last
    expect(customer).to_have_text(payload)
    assert page.evaluate("window.pwned") is None
    assert page.locator("#messages img, #messages script, #messages b").count() == 0
    assert not [v for v in violations if "Content Security Policy" in v]


def test_the_page_is_usable_on_a_phone(
    browser: Browser, script_errors: ScriptErrors, stack: Stack
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True)
    page = script_errors.open_page(context)
    try:
        _open_chat(page, stack)
        _say(page, "hello")

        width = page.evaluate("document.scrollingElement.scrollWidth")
        box = page.locator("#send").bounding_box()
        assert width <= 375
        assert box is not None and box["x"] + box["width"] <= 375 and box["height"] >= 32
        expect(page.locator("#input")).to_be_in_viewport()
    finally:
        context.close()


def test_a_message_typed_while_the_connection_is_down_is_sent_once_when_it_is_back(
    page: Page, stack: Stack
) -> None:
    """The page's socket goes through a route that can cut it and refuse reconnections."""
    link: dict[str, Any] = {"down": False, "open": []}

    def route(socket: WebSocketRoute) -> None:
        if link["down"]:
            socket.close()
            return
        socket.connect_to_server()
        link["open"].append(socket)

    page.route_web_socket(re.compile(r".*/ws/chat$"), route)
    _open_chat(page, stack)
    link["down"] = True
    for socket in link["open"]:
        socket.close()
    expect(page.locator("body")).not_to_have_attribute("data-connection", "open")
    expect(page.locator("#status")).to_contain_text("Reconnecting")
    page.locator("#input").fill("hello again")
    page.locator("#input").press("Enter")
    expect(page.locator(".message.sending")).to_have_count(1)

    link["down"] = False

    expect(page.locator(".message[data-sender='bot']")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(page.locator(".message.sending")).to_have_count(0)
    assert [sender for sender, _ in _transcript(page)] == ["customer", "bot"]


@pytest.fixture
def shop_site(tmp_path: Path, stack: Stack) -> Iterator[str]:
    """A shop's own page on another origin, with the one-line widget embed."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><title>Tea shop</title></head><body>"
        "<h1>Our teas</h1>"
        f'<script src="{stack.gateway_url}/widget.js" defer></script>'
        "</body></html>"
    )
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_the_widget_embeds_the_chat_in_a_shops_page(
    page: Page, stack: Stack, shop_site: str
) -> None:
    page.goto(shop_site)
    launcher = page.locator("button[aria-label='Open chat']")
    expect(launcher).to_have_attribute("aria-expanded", "false")

    launcher.click()

    expect(launcher).to_have_attribute("aria-expanded", "true")
    chat = page.frame_locator("iframe[src$='/?embed=1']")
    chat.locator("#input").fill("hello")
    chat.locator("#input").press("Enter")
    expect(chat.locator(".message[data-sender='bot']")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(chat.locator(".page-header")).to_be_hidden()
