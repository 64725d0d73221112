"""The managers' page and its API: who may see them (route by route), what input they
refuse, the figures of the hand-computed desk (tests/support/desk_fixture.py), the CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import shop_today
from bot.handoff.agents import add_agent
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.ops_tables import IncidentRecord
from bot.web.app import create_app
from tests.support.desk_fixture import EXPECTED_FIGURES, INCIDENT_TITLES, store_desk
from tests.support.engines import ScriptedEngine

PASSWORD = "correct horse battery"
ROUTES = ("/console/reports", "/api/console/reports", "/api/console/reports.csv")
D = date(2026, 3, 2)
PERIOD = {"from": D.isoformat(), "to": (D + timedelta(days=1)).isoformat()}


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    database = make_engine(database_url)
    yield make_session_factory(database)
    database.dispose()


def _gateway(
    database_url: str, session_factory: sessionmaker[Session], **settings: Any
) -> TestClient:
    app = create_app(
        Settings(
            database_url=database_url,
            engine_channel_token=SecretStr("t"),
            webchat_secret=SecretStr("w"),
            queue_update_seconds=3600,
            service_level_seconds=60,
            **settings,
        ),
        engine=ScriptedEngine(),
    )
    return TestClient(app)


@pytest.fixture
def client(database_url: str, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with _gateway(database_url, session_factory) as client:
        with session_factory.begin() as session:
            for role in ("agent", "ops", "manager"):
                add_agent(session, username=role, display_name=role, password=PASSWORD, role=role)
            store_desk(session, D)
        yield client


def _sign_in(client: TestClient, role: str) -> None:
    answer = client.post("/api/console/login", json={"username": role, "password": PASSWORD})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("route", ROUTES)
def test_each_route_refuses_without_a_session_and_to_an_agent(
    client: TestClient, route: str
) -> None:
    anonymous = client.get(route, params=PERIOD)
    assert anonymous.status_code == 401
    assert "figures" not in anonymous.text
    _sign_in(client, "agent")
    agent = client.get(route, params=PERIOD)
    assert agent.status_code == 403
    assert "figures" not in agent.text and "contacts" not in agent.text


@pytest.mark.parametrize("route", ROUTES)
def test_ops_and_managers_get_each_route(client: TestClient, route: str) -> None:
    for role in ("ops", "manager"):
        _sign_in(client, role)
        answer = client.get(route, params=PERIOD)
        assert answer.status_code == 200, (role, answer.text)
        if route == "/console/reports":
            assert answer.headers["content-type"].startswith("text/html")
            assert '<canvas id="chart-days"' in answer.text
            assert "script-src 'self'" in answer.headers["content-security-policy"]
            # Served by its route alone, not among the static files.
            assert client.get("/static/reports.html").status_code == 404


def test_a_role_taken_away_counts_from_the_next_request(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    from bot.handoff.agents import set_role

    _sign_in(client, "ops")
    assert client.get("/api/console/reports").status_code == 200
    with session_factory.begin() as session:
        set_role(session, username="ops", role="agent")
    assert client.get("/api/console/reports").status_code == 403


def test_the_figures_of_the_hand_computed_desk(client: TestClient) -> None:
    _sign_in(client, "manager")
    document = client.get("/api/console/reports", params=PERIOD).json()
    figures = document["figures"]
    assert figures["contacts"]["value"] == EXPECTED_FIGURES["contacts"]
    for name in ("containment", "handoff_rate", "abandonment", "service_level"):
        figure = figures[name]
        assert (figure["value"], figure["numerator"], figure["denominator"]) == (
            EXPECTED_FIGURES[name]
        ), name
    for name in ("first_response_seconds", "resolution_seconds"):
        figure = figures[name]
        assert (figure["count"], figure["median"], figure["p90"]) == EXPECTED_FIGURES[name]
    assert figures["csat"]["mean"] == EXPECTED_FIGURES["csat_mean"]
    assert figures["csat"]["distribution"] == EXPECTED_FIGURES["csat_distribution"]
    response = figures["csat"]["response_rate"]
    assert (response["value"], response["numerator"], response["denominator"]) == (
        EXPECTED_FIGURES["csat_response_rate"]
    )
    assert document["period"] == {
        "start": "2026-03-02T00:00:00+08:00",
        "end": "2026-03-04T00:00:00+08:00",
        "channel": "all",
    }
    titles = {row["incident_id"]: row["title"] for row in document["incidents"]["rows"]}
    assert titles == INCIDENT_TITLES

    telegram = client.get("/api/console/reports", params={**PERIOD, "channel": "telegram"})
    assert telegram.json()["figures"]["contacts"]["value"] == 4


REFUSED = [
    ({"from": "2026-13-01"}, "from is not a real date"),
    ({"from": "03/02/2026"}, "from must be a date like 2026-03-31"),
    ({"to": "2026-03-01", "from": "2026-03-02"}, "from must not be after to"),
    ({"from": "2025-01-01", "to": "2025-12-31"}, "a report covers at most 92 days"),
    ({"channel": "fax"}, "channel must be one of all, webchat, telegram, api"),
    ({"from": "0001-01-01", "to": "0001-01-02"}, "to must be between 2000-01-01 and 2999-12-31"),
]


@pytest.mark.parametrize("route", ROUTES[1:])
def test_input_that_cannot_be_a_period_is_refused_with_a_reason(
    client: TestClient, route: str
) -> None:
    for params, _ in REFUSED:
        assert client.get(route, params=params).status_code == 401  # a session comes first
    _sign_in(client, "ops")
    for params, says in REFUSED:
        answer = client.get(route, params=params)
        assert (answer.status_code, answer.json()) == (422, {"detail": says}), params


def test_reports_are_limited_per_staff_member(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    with _gateway(database_url, session_factory, reports_per_minute=2) as client:
        with session_factory.begin() as session:
            add_agent(session, username="chen", display_name="C", password=PASSWORD, role="ops")
        _sign_in(client, "chen")
        assert [client.get(ROUTES[1]).status_code for _ in range(2)] == [200, 200]
        refused = client.get(ROUTES[2])
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "too many reports" in refused.json()["detail"]


def test_the_csv_has_every_number_with_its_formula_and_no_spreadsheet_formulas(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        incident = session.get(IncidentRecord, 4)
        assert incident is not None
        incident.title = '=HYPERLINK("http://evil.example","click")'
    _sign_in(client, "ops")
    answer = client.get(ROUTES[2], params={**PERIOD, "channel": "all"})
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="shopdesk-report-2026-03-02-2026-03-03-all.csv"'
    )
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["section", "figure", "value", "formula"]
    values = {(section, figure): (value, formula) for section, figure, value, formula in rows[1:]}
    assert values[("figures", "containment")][0] == "0.4"
    assert values[("figures", "containment")][1].startswith("Contacts that ended without")
    assert values[("figures", "first_response_seconds.p90")][0] == "150.0"
    assert values[("figures", "csat.score_2")][0] == "1"
    # Staff typed the title: it stays inside its cell, which no spreadsheet runs.
    section = 'incident 4: =HYPERLINK("http://evil.example","click")'
    assert values[(section, "notices_sent")][0] == "1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_default_period_is_the_week_up_to_today(client: TestClient) -> None:
    _sign_in(client, "ops")
    period = client.get(ROUTES[1]).json()["period"]
    today = shop_today()
    assert period["start"] == f"{today - timedelta(days=6)}T00:00:00+08:00"
    assert period["end"] == f"{today + timedelta(days=1)}T00:00:00+08:00"
