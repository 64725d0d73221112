"""The whole handoff loop in two browser pages: a customer in the web chat, an agent in the
console, on the real stack (engine, actions, gateway) in Debian's Chromium."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conversations.test_webchat_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
from tests.support.stack import ROOT, Stack

PASSWORD = "a long agent password"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _page(browser: Browser) -> Page:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


@pytest.fixture(scope="module")
def agent_name(stack: Stack) -> str:
    """Created as an operator would, with the command line and the password on stdin."""
    subprocess.run(
        [str(ROOT / ".venv/bin/shopdesk"), "agents", "add", "mei", "--name", "Mei Chen",
         "--capacity", "2", "--password-stdin"],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True,
        env={**os.environ, "DATABASE_URL": stack.database_url},
    )  # fmt: skip
    return "Mei Chen"


def _customer_says(page: Page, text: str) -> None:
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")
    expect(page.locator(".message[data-sender='customer'] .text").last).to_have_text(text)


def test_a_customer_an_agent_and_the_bot_in_one_conversation(
    browser: Browser, stack: Stack, agent_name: str
) -> None:
    customer, agent = _page(browser), _page(browser)

    agent.goto(stack.gateway_url + "/console")
    agent.locator("#username").fill("mei")
    agent.locator("#password").fill(PASSWORD)
    agent.locator("#login-button").click()
    expect(agent.locator("body")).to_have_attribute("data-console", "ready")
    expect(agent.locator("#agent-name")).to_have_text(agent_name)
    agent.locator("#status-toggle").click()
    expect(agent.locator("#status-toggle")).to_have_attribute("aria-pressed", "true")

    customer.goto(stack.gateway_url + "/")
    expect(customer.locator("body")).to_have_attribute("data-connection", "open")
    _customer_says(customer, "I want to talk to a person please")  # (unique in the stack)
    expect(customer.locator(".message[data-sender='bot'] .text").last).to_contain_text(
        "passing you to a person"
    )

    # Other conversations of the shared stack may be queued too: take this customer's.
    entry = agent.locator(".queue-entry", has_text="I want to talk to a person please")
    expect(entry).to_contain_text("asked for a person")
    handoff_id = int(entry.get_attribute("data-id") or 0)
    entry.locator("button.take").click()
    expect(customer.locator(".message .text").last).to_have_text(
        f"{agent_name} from our team has joined the chat."
    )

    _customer_says(customer, "My rice cooker arrived with a cracked lid")
    expect(agent.locator("#transcript .message[data-sender='customer'] .text").last).to_have_text(
        "My rice cooker arrived with a cracked lid"
    )
    agent.locator("#reply-input").fill("I'm sorry! I've sent you a return label by e-mail.")
    agent.locator("#reply-input").press("Enter")
    expect(customer.locator(".message[data-sender='agent'] .text").last).to_have_text(
        "I'm sorry! I've sent you a return label by e-mail."
    )

    agent.locator("#hand-back").click()
    expect(customer.locator(".message .text").last).to_contain_text(
        "You're back with Shopdesk's assistant"
    )
    _customer_says(customer, "where is my order?")
    expect(customer.locator(".message[data-sender='bot'] .text").last).to_contain_text(
        "order number"
    )
    # After the bot's answer, the customer is asked to rate the agent's help.
    expect(customer.locator(".message .text").last).to_contain_text("How would you rate")
    customer.locator(".quick-replies button", has_text="5").click()
    expect(customer.locator(".message .text").last).to_contain_text("Thank you for your rating")

    engine = sa.create_engine(stack.database_url)
    with engine.connect() as db:
        this = {"h": handoff_id}
        senders = set(
            db.execute(
                sa.text(
                    "SELECT m.sender FROM messages m JOIN handoffs h "
                    "ON h.conversation_id = m.conversation_id WHERE h.id = :h"
                ),
                this,
            ).scalars()
        )
        state = db.execute(sa.text("SELECT state FROM handoffs WHERE id = :h"), this).scalar()
        ratings = list(
            db.execute(sa.text("SELECT score FROM ratings WHERE handoff_id = :h"), this).scalars()
        )
    engine.dispose()
    assert state == "returned"
    assert ratings == [5]
    assert {"customer", "bot", "agent", "system"} <= senders
