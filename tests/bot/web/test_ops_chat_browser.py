"""The console's Ops chat panel in Debian's Chromium: the gateway in this process (uvicorn
on loopback) with a scripted engine and the fake Bot API, so no Rasa is needed."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.engine import BotReply
from bot.handoff.passwords import hash_password
from bot.storage.db import make_engine, make_session_factory
from bot.storage.tables import Agent
from bot.web.app import create_app
from tests.support.engines import ScriptedEngine
from tests.support.fake_telegram import FakeTelegram
from tests.support.ports import free_port
from tests.support.telegram_gateway import telegram_settings, wait_for

PASSWORD = "correct horse battery"
CHOICES = [
    {"title": "Active incidents", "payload": "/ops_incidents"},
    {"title": "The queue", "payload": "how is the queue?"},
]


@pytest.fixture
def engine() -> ScriptedEngine:
    def answer(text: str) -> list[BotReply]:
        if "going on" in text:
            return [BotReply("Two incidents are active.", list(CHOICES))]  # type: ignore[arg-type]
        return [BotReply(f"echo: {text}")]

    return ScriptedEngine(answer=answer)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def gateway(tmp_path: Path, telegram: FakeTelegram, engine: ScriptedEngine) -> Iterator[str]:
    """The gateway's URL, with an ops member (mei) and an agent (ana)."""
    database_url = f"sqlite:///{tmp_path / 'shopdesk.db'}"
    settings = telegram_settings(database_url, telegram, queue_update_seconds=3600)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, engine=engine),
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the gateway to start")  # after its migrations
    database = make_engine(database_url)
    session_factory: sessionmaker[Session] = make_session_factory(database)
    with session_factory.begin() as session:
        password_hash = hash_password(PASSWORD)
        for username, name, role in [("mei", "Mei Lin", "ops"), ("ana", "Ana", "agent")]:
            session.add(
                Agent(username=username, display_name=name, password_hash=password_hash, role=role)
            )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        database.dispose()
        server.should_exit = True
        thread.join(timeout=10)


def _sign_in(page: Page, gateway: str, username: str) -> None:
    page.goto(gateway + "/console")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-button").click()
    expect(page.locator("body")).to_have_attribute("data-console", "ready")


def test_an_ops_member_asks_the_bot_and_presses_its_buttons(
    page: Page, gateway: str, engine: ScriptedEngine
) -> None:
    _sign_in(page, gateway, "mei")
    page.locator("#ops-open").click()
    expect(page.locator("#ops-chat")).to_be_visible()
    expect(page.locator("#conversation-empty")).to_be_hidden()

    page.locator("#ops-input").fill("what's going on?")
    page.locator("#ops-input").press("Enter")
    bot = page.locator("#ops-transcript .message[data-sender='bot']")
    expect(bot.last.locator(".text")).to_have_text("Two incidents are active.")
    expect(page.locator("#ops-input")).to_have_value("")
    page.locator("#ops-transcript .quick-replies button", has_text="Active incidents").click()
    expect(bot).to_have_count(2)
    expect(bot.last.locator(".text")).to_have_text("echo: /ops_incidents")

    # Only the bot's last message carries choices, and this one has none.
    expect(page.locator("#ops-transcript .quick-replies")).to_have_count(0)
    mine = page.locator("#ops-transcript .message[data-sender='customer'] .text")
    expect(mine).to_have_text(["what's going on?", "/ops_incidents"])
    assert [call.text for call in engine.calls] == ["what's going on?", "/ops_incidents"]
    assert engine.calls[0].metadata["role"] == "ops"

    page.reload()  # the chat is the server's: it comes back as it was
    expect(page.locator("body")).to_have_attribute("data-console", "ready")
    page.locator("#ops-open").click()
    expect(mine).to_have_count(2)


def test_linking_telegram_shows_a_code_then_the_link_and_unlinks_in_one_click(
    page: Page, gateway: str, telegram: FakeTelegram
) -> None:
    _sign_in(page, gateway, "mei")
    page.locator("#ops-open").click()
    expect(page.locator("#telegram-status")).to_contain_text("Link your Telegram chat")

    page.locator("#telegram-link").click()
    code = page.locator("#telegram-code .code")
    expect(code).to_have_text(re.compile(r"^[A-HJKMNP-Z2-9]{8}$"))
    expect(page.locator("#telegram-code")).to_contain_text(
        f"Send /link {code.text_content()} to @shopdesk_test_bot within 10 minutes."
    )
    telegram.push_update(telegram.text_update(7001, f"/link {code.text_content()}"))
    # (Playwright's loop runs in this thread: the fake's blocking wait refuses to.)
    wait_for(lambda: telegram.sent_messages(7001), "the bot's answer to /link")
    [linked] = telegram.sent_messages(7001)

    expect(page.locator("#telegram-status")).to_contain_text("is linked", timeout=15_000)
    expect(page.locator("#telegram-code")).to_be_hidden()
    page.locator("#telegram-unlink").click()
    expect(page.locator("#telegram-status")).to_contain_text("Link your Telegram chat")
    expect(page.locator("#telegram-unlink")).to_be_hidden()
    assert linked.text.startswith("Linked: you're Mei Lin (ops) here.")


def test_an_agent_is_not_offered_the_ops_chat(page: Page, gateway: str) -> None:
    _sign_in(page, gateway, "ana")
    time.sleep(0.5)  # every module has run by now

    expect(page.locator("#ops-panel")).to_be_hidden()
    expect(page.locator("#ops-chat")).to_be_hidden()
