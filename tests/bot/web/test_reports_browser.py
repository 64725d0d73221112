"""The reports page, the API and `shopdesk report` agree on the hand-computed desk of
tests/support/desk_fixture.py: a real gateway process, the real command, and the page in
Debian's Chromium (charts drawn, no script errors, the fixture's numbers on screen)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from bot.domain.clock import shop_today
from bot.handoff.agents import add_agent
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from tests.support.browser import ScriptErrors
from tests.support.desk_fixture import (
    EXPECTED_FIGURES,
    EXPECTED_INTENTS,
    INCIDENT_TITLES,
    store_desk,
)
from tests.support.ports import free_port
from tests.support.stack import ROOT, ServiceControl

PASSWORD = "a long manager password"
# Day D of the fixture: recent enough for `--since 7d`, its day before (c00) is not.
D = shop_today() - timedelta(days=3)
PERIOD = {"from": D.isoformat(), "to": (D + timedelta(days=1)).isoformat()}


@dataclass
class Gateway:
    url: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway alone (no engine is needed to read reports) on the fixture's database."""
    workdir = tmp_path_factory.mktemp("reports")
    database_url = f"sqlite:///{workdir / 'shopdesk.db'}"
    upgrade(database_url, schema="shopdesk")
    engine = make_engine(database_url)
    with make_session_factory(engine).begin() as session:
        add_agent(session, username="lin", display_name="Lin", password=PASSWORD, role="manager")
        store_desk(session, D)
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SHOPDESK_GATEWAY_PORT": str(port),
        "SHOPDESK_WEBCHAT_SECRET": secrets.token_urlsafe(16),
        "SHOPDESK_SERVICE_LEVEL_SECONDS": "60",
        "SHOPDESK_SERVICE_LEVEL_TARGET": "0.8",
        "TELEGRAM_TOKEN": "",
    }
    url = f"http://127.0.0.1:{port}"
    process = ServiceControl(
        "gateway",
        [str(ROOT / ".venv/bin/python"), "-m", "bot.web"],
        env,
        workdir / "gateway.log",
        f"{url}/healthz",
    )
    process.start()
    try:
        process.wait_ready(60)
        yield Gateway(url, env)
    finally:
        process.stop()


def _api(gateway: Gateway, params: dict[str, str]) -> dict[str, Any]:
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        signed_in = client.post(
            "/api/console/login", json={"username": "lin", "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        answer = client.get("/api/console/reports", params=params)
        assert answer.status_code == 200, answer.text
        document: dict[str, Any] = answer.json()
        return document


def _command(gateway: Gateway, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(ROOT / ".venv/bin/shopdesk"), "report", *args, "--json"],
        env=gateway.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def _same_numbers(document: dict[str, Any]) -> dict[str, Any]:
    """Everything but the period itself and its days (`--since` ends now, not at midnight)."""
    breakdowns = {k: v for k, v in document["breakdowns"].items() if k != "by_day"}
    return {"figures": document["figures"], "breakdowns": breakdowns, **document["incidents"]}


def test_the_api_and_the_command_agree_with_the_hand_computation(gateway: Gateway) -> None:
    from_api = _api(gateway, PERIOD)
    assert _command(gateway, "--from", PERIOD["from"], "--to", PERIOD["to"]) == from_api

    figures = from_api["figures"]
    assert figures["contacts"]["value"] == EXPECTED_FIGURES["contacts"]
    for name in ("containment", "handoff_rate", "abandonment", "service_level"):
        figure = figures[name]
        assert (figure["value"], figure["numerator"], figure["denominator"]) == (
            EXPECTED_FIGURES[name]
        )
    first = figures["first_response_seconds"]
    assert (first["count"], first["median"], first["p90"]) == (4, 67.5, 150.0)
    assert figures["csat"]["mean"] == 3.67
    intents = from_api["breakdowns"]["by_intent"]["rows"]
    assert [(row["intent"], row["contacts"]) for row in intents] == EXPECTED_INTENTS

    # `--since 7d` covers the fixture's two days and not the contact ten days back.
    week = _api(gateway, {"from": (shop_today() - timedelta(days=7)).isoformat()})
    assert _same_numbers(_command(gateway, "--since", "7d")) == _same_numbers(week)
    assert _same_numbers(week) == _same_numbers(from_api)


def _signed_in(browser: Browser, script_errors: ScriptErrors, gateway: Gateway) -> Page:
    page = script_errors.open_page(browser.new_context())
    page.goto(gateway.url + "/console")
    page.locator("#username").fill("lin")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-button").click()
    expect(page.locator("body")).to_have_attribute("data-console", "ready")
    return page


# The canvas has pixels that are not transparent: Chart.js drew on it.
DRAWN = """(id) => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  return canvas.width > 0 && pixels.some((value, index) => index % 4 === 3 && value > 0);
}"""


def test_the_page_draws_the_charts_and_shows_the_fixtures_figures(
    browser: Browser, script_errors: ScriptErrors, gateway: Gateway
) -> None:
    page = _signed_in(browser, script_errors, gateway)
    expect(page.locator("#reports-link")).to_be_visible()  # a manager's console links here
    page.goto(f"{gateway.url}/console/reports?from={PERIOD['from']}&to={PERIOD['to']}")
    expect(page.locator("body")).to_have_attribute("data-report", "ready")

    shown = {
        "contacts": "10",
        "containment": "40.0%",
        "handoff_rate": "60.0%",
        "abandonment": "20.0%",
        "first_response": "1 min 8 s",  # 67.5 s
        "resolution": "17 min 30 s",  # 1050 s
        "service_level": "40.0%",
        "csat": "3.67 / 5",
    }
    for figure, text in shown.items():
        tile = page.locator(f".tile[data-figure='{figure}']")
        expect(tile.locator(".value")).to_have_text(text)
        assert tile.get_attribute("title"), f"{figure} has no formula"
    values = {
        figure: page.locator(f".tile[data-figure='{figure}']").get_attribute("data-value")
        for figure in shown
    }
    assert values == {
        "contacts": "10",
        "containment": "0.4",
        "handoff_rate": "0.6",
        "abandonment": "0.2",
        "first_response": "67.5",
        "resolution": "1050",
        "service_level": "0.4",
        "csat": "3.67",
    }
    expect(page.locator(".tile[data-figure='first_response'] .detail")).to_contain_text(
        "p90 2 min 30 s"
    )
    expect(page.locator(".tile[data-figure='csat'] .detail")).to_contain_text("75.0% answered")
    wuhan = page.locator("tr[data-incident='3']")
    expect(wuhan.locator("th")).to_have_text(f"#3 {INCIDENT_TITLES[3]}")
    assert [cell.inner_text() for cell in wuhan.locator("td").all()] == [
        "3",
        "3",
        "3",
        "2",
        "33.3% (1)",
    ]
    for canvas in ("chart-days", "chart-hours", "chart-intents", "chart-channels", "chart-csat"):
        assert page.evaluate(DRAWN, canvas), f"{canvas} is blank"
    expect(page.locator("#note-service_level")).to_contain_text("within 60 s")
    href = page.locator("#csv-link").get_attribute("href")
    assert href == f"/api/console/reports.csv?from={PERIOD['from']}&to={PERIOD['to']}&channel=all"

    page.locator("#channel").select_option("telegram")
    page.locator("#show").click()
    expect(page.locator(".tile[data-figure='contacts'] .value")).to_have_text("4")
    expect(page.locator("body")).to_have_attribute("data-report", "ready")
    assert "channel=telegram" in page.url


def test_a_bad_period_in_the_address_is_explained_on_the_page(
    browser: Browser, script_errors: ScriptErrors, gateway: Gateway
) -> None:
    page = _signed_in(browser, script_errors, gateway)
    page.goto(f"{gateway.url}/console/reports?from=2026-02-30")
    expect(page.locator("body")).to_have_attribute("data-report", "failed")
    expect(page.locator("#report-notice")).to_have_text("from is not a real date")
