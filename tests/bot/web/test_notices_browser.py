"""The console's "Customer notices" panel in Debian's Chromium: the gateway in this process
(uvicorn on loopback) with a scripted engine, so no Rasa or Telegram is needed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn
from playwright.sync_api import Page, expect
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.notices import Occasion, PlannedNotice, Recipient
from bot.handoff.passwords import hash_password
from bot.settings import Settings
from bot.storage import notices as outbox
from bot.storage.accounts import get_or_create_account, link_customer
from bot.storage.db import make_engine, make_session_factory
from bot.storage.incidents import Author, declare_incident
from bot.storage.ops_tables import Notice
from bot.storage.tables import Agent, utc_now
from bot.web.app import create_app
from tests.bot.domain.test_incident_changes import DRAFT
from tests.support.engines import ScriptedEngine
from tests.support.ports import free_port
from tests.support.telegram_gateway import wait_for

PASSWORD = "correct horse battery"


def _fan_out(session_factory: sessionmaker[Session]) -> int:
    """An incident whose 12 notices are 5 sent: as a fan-out under way looks."""
    with session_factory.begin() as session:
        incident = declare_incident(session, draft=DRAFT, author=Author("Mei"))
        planned = []
        for customer in range(1, 13):
            account = get_or_create_account(session, channel="telegram", external_id=f"{customer}")
            link_customer(session, account_id=account.id, customer_id=customer)
            recipient = Recipient(customer, account.id, "telegram")
            planned.append(PlannedNotice(recipient, ("100245",), "late"))
        outbox.create_batch(
            session, incident_id=incident.id, occasion=Occasion.DECLARED, author=Author("Mei"),
            notices=planned,
        )  # fmt: skip
        session.flush()
        sent = session.scalars(sa.select(Notice.id).order_by(Notice.id).limit(5)).all()
        # The rest are being sent by another gateway: this one's sender leaves them be.
        session.execute(
            sa.update(Notice).values(state="sending", claimed_by="elsewhere", claimed_at=utc_now())
        )
        session.execute(sa.update(Notice).where(Notice.id.in_(sent)).values(state="sent"))
        return incident.id


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The gateway's URL, with an ops member (mei), an agent (ana) and a fan-out."""
    database_url = f"sqlite:///{tmp_path / 'shopdesk.db'}"
    settings = Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        webchat_secret=SecretStr("w"),
        queue_update_seconds=3600,
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, engine=ScriptedEngine()),
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
    incident_id = _fan_out(session_factory)
    try:
        yield f"http://127.0.0.1:{port}", incident_id
    finally:
        database.dispose()
        server.should_exit = True
        thread.join(timeout=10)


def _sign_in(page: Page, url: str, username: str) -> None:
    page.goto(url + "/console")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-button").click()
    expect(page.locator("body")).to_have_attribute("data-console", "ready")


def test_ops_see_how_far_each_fan_out_has_got(page: Page, gateway: tuple[str, int]) -> None:
    url, incident_id = gateway
    _sign_in(page, url, "mei")

    entry = page.locator("#notices .notice-progress")
    expect(entry).to_have_count(1)
    expect(entry.locator(".entry-title")).to_contain_text(DRAFT.title)
    expect(entry.locator(".entry-title")).to_contain_text("declared")
    expect(entry.locator(".entry-facts")).to_have_text(
        f"incident {incident_id}: 5 of 12 notices sent, 0 failed, about 1 min left"
    )
    expect(entry.locator("progress")).to_have_attribute("value", "5")
    expect(entry.locator("progress")).to_have_attribute("max", "12")
    expect(page.locator("#notices-empty")).to_be_hidden()


def test_an_agent_is_not_shown_the_notices(page: Page, gateway: tuple[str, int]) -> None:
    url, _ = gateway
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    _sign_in(page, url, "ana")
    time.sleep(0.5)  # every module has run by now

    expect(page.locator("#notices-panel")).to_be_hidden()
    assert not [request for request in asked if "/api/console/notices" in request]
