"""The whole handoff loop in two browser pages: a customer in the web chat, an agent in the
console, on the real stack (engine, actions, gateway) in Debian's Chromium."""

from __future__ import annotations

import os
import subprocess

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Locator, Page, Route, expect

from tests.support.browser import TIMEOUT_MS, ScriptErrors
from tests.support.stack import ROOT, Stack

PASSWORD = "a long agent password"


def _page(browser: Browser, script_errors: ScriptErrors) -> Page:
    return script_errors.open_page(browser.new_context())


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


def _agent_available(page: Page, stack: Stack, agent_name: str) -> None:
    page.goto(stack.gateway_url + "/console")
    page.locator("#username").fill("mei")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-button").click()
    expect(page.locator("body")).to_have_attribute("data-console", "ready")
    expect(page.locator("#agent-name")).to_have_text(agent_name)
    if page.locator("#status-toggle").get_attribute("aria-pressed") != "true":
        page.locator("#status-toggle").click()
    expect(page.locator("#status-toggle")).to_have_attribute("aria-pressed", "true")


def _waiting_for_a_person(
    browser: Browser, script_errors: ScriptErrors, stack: Stack, agent_name: str, text: str
) -> tuple[Page, Page, Locator]:
    """(customer, agent, queue entry) once ``text``, unique in the shared stack, queued."""
    customer, agent = _page(browser, script_errors), _page(browser, script_errors)
    _agent_available(agent, stack, agent_name)
    customer.goto(stack.gateway_url + "/")
    expect(customer.locator("body")).to_have_attribute("data-connection", "open")
    _customer_says(customer, text)
    expect(customer.locator(".message[data-sender='bot'] .text").last).to_contain_text(
        "passing you to a person"
    )
    # Other conversations of the shared stack may be queued too: this is the customer's.
    return customer, agent, agent.locator(".queue-entry", has_text=text)


def test_a_customer_an_agent_and_the_bot_in_one_conversation(
    browser: Browser, script_errors: ScriptErrors, stack: Stack, agent_name: str
) -> None:
    customer, agent, entry = _waiting_for_a_person(
        browser, script_errors, stack, agent_name, "I want to talk to a person please"
    )
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


def test_what_the_customer_writes_while_the_take_is_on_its_way_reaches_the_agent(
    browser: Browser, script_errors: ScriptErrors, stack: Stack, agent_name: str
) -> None:
    """The customer hears of the take first and may answer before the console has it open."""
    customer, agent, entry = _waiting_for_a_person(
        browser, script_errors, stack, agent_name, "can a real person help me with my parcel"
    )
    handoff_id = entry.get_attribute("data-id")

    def hold_the_take_answer(route: Route) -> None:
        answer = route.fetch()  # the take is done on the server
        expect(customer.locator(".message .text").last).to_have_text(
            f"{agent_name} from our team has joined the chat."
        )
        _customer_says(customer, "It says delivered but nothing is here")
        # Its event has reached the console, which has no conversation open yet.
        mine = agent.locator(f".mine-entry[data-id='{handoff_id}']")
        expect(mine).to_have_attribute("data-unread", "true")
        route.fulfill(response=answer)

    agent.route("**/take", hold_the_take_answer)
    entry.locator("button.take").click()

    expect(agent.locator("#conversation")).to_have_attribute("data-id", str(handoff_id))
    expect(agent.locator("#transcript .message[data-sender='customer'] .text").last).to_have_text(
        "It says delivered but nothing is here"
    )
    agent.locator("#hand-back").click()
    expect(customer.locator(".message .text").last).to_contain_text(
        "You're back with Shopdesk's assistant"
    )


def test_the_agent_notes_quotes_an_article_and_closes_with_a_resolution(
    browser: Browser, script_errors: ScriptErrors, stack: Stack, agent_name: str
) -> None:
    customer, agent, entry = _waiting_for_a_person(
        browser, script_errors, stack, agent_name, "let me speak to a human about my card refund"
    )
    handoff_id = int(entry.get_attribute("data-id") or 0)
    entry.locator("button.take").click()
    expect(agent.locator("#conversation")).to_have_attribute("data-state", "assigned")

    note = "Paid by card; worried about the date"
    agent.locator("#note-input").fill(note)
    agent.locator("#note-add").click()
    expect(agent.locator("#notes .note .text")).to_have_text([note])

    urls: list[str] = []
    agent.on("request", lambda request: urls.append(request.url))
    agent.locator("#kb-query").fill("when will my card refund arrive")
    agent.locator("#kb-search").click()
    article = agent.locator(".kb-result").first
    # The gateway loads the sentence encoder at its first search: longer than expect's 5 s.
    expect(article).to_have_attribute("data-id", "refund-timeline", timeout=TIMEOUT_MS)
    assert any(url.endswith("/api/console/knowledge") for url in urls)
    assert not [url for url in urls if "refund" in url]  # the query went in the body
    answer = article.locator(".kb-answer").text_content() or ""
    article.locator(".kb-use").click()
    expect(agent.locator("#reply-input")).to_have_value(answer)  # to edit, not sent yet
    expect(customer.locator(".message[data-sender='agent']")).to_have_count(0)
    agent.locator("#reply-send").click()
    expect(customer.locator(".message[data-sender='agent'] .text").last).to_have_text(answer)

    agent.locator("#resolution").select_option("refund_issued")
    agent.locator("#close-button").click()
    expect(agent.locator("#console-notice")).to_have_text(
        "Closed: refund issued. The customer is asked for a rating."
    )
    expect(agent.locator("#conversation")).to_be_hidden()
    expect(agent.locator(f".mine-entry[data-id='{handoff_id}']")).to_have_count(0)
    expect(customer.locator(".message .text").last).to_contain_text("How would you rate")
    expect(customer.get_by_text("worried about the date")).to_have_count(0)  # notes stay inside

    engine = sa.create_engine(stack.database_url)
    with engine.connect() as db:
        this = {"h": handoff_id}
        closed = db.execute(
            sa.text("SELECT state, resolution FROM handoffs WHERE id = :h"), this
        ).one()
        notes = db.execute(
            sa.text("SELECT text FROM agent_notes WHERE handoff_id = :h"), this
        ).all()
    engine.dispose()
    assert tuple(closed) == ("closed", "refund_issued")
    assert [row.text for row in notes] == [note]


def test_a_call_back_left_while_nobody_is_available_is_done_from_the_console(
    browser: Browser, script_errors: ScriptErrors, stack: Stack, agent_name: str
) -> None:
    agent, customer = _page(browser, script_errors), _page(browser, script_errors)
    _agent_available(agent, stack, agent_name)
    agent.locator("#status-toggle").click()
    expect(agent.locator("#status-toggle")).to_have_attribute("aria-pressed", "false")
    try:
        customer.goto(stack.gateway_url + "/")
        expect(customer.locator("body")).to_have_attribute("data-connection", "open")
        _customer_says(customer, "i need a real person to call me back")
        expect(customer.locator(".message .text").last).to_contain_text("No agent is available")
        customer.locator(".quick-replies button", has_text="Leave a message").click()
        expect(customer.locator(".message .text").last).to_contain_text("best time and number")
        _customer_says(customer, "Call me after 6pm about the missing parcel please")
        expect(customer.locator(".message .text").last).to_contain_text("call-back request CB-")

        callback = agent.locator(".callback", has_text="after 6pm about the missing parcel")
        expect(callback).to_be_visible()
        callback_id = int(callback.get_attribute("data-id") or 0)
        callback.locator("button.callback-done").click()
        expect(callback).to_have_count(0)
    finally:
        agent.locator("#status-toggle").click()  # the shared stack's other tests expect her
        expect(agent.locator("#status-toggle")).to_have_attribute("aria-pressed", "true")

    agent.locator("#logout").click()
    expect(agent.locator("body")).to_have_attribute("data-console", "login")
    expect(agent.locator("#login-error")).to_have_text("You are signed out.")

    engine = sa.create_engine(stack.database_url)
    with engine.connect() as db:
        done_at = db.execute(
            sa.text("SELECT done_at FROM callback_requests WHERE id = :c"), {"c": callback_id}
        ).scalar()
    engine.dispose()
    assert done_at is not None
