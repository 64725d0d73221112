"""The console's incident-notice progress: for ops and managers only, route by route,
limited per member, and saying what the chat says."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.notices import Occasion, PlannedNotice, Recipient
from bot.handoff.passwords import hash_password
from bot.settings import Settings
from bot.storage import notices as outbox
from bot.storage.accounts import get_or_create_account, link_customer
from bot.storage.incidents import Author, declare_incident
from bot.storage.ops_tables import Notice
from bot.storage.tables import Agent, utc_now
from bot.web.app import create_app
from tests.bot.domain.test_incident_changes import DRAFT
from tests.support.engines import ScriptedEngine

PASSWORD = "correct horse battery"
READS_PER_MINUTE = 10
# Every route of bot/web/notices.py: each refuses without a session and refuses an agent.
ROUTES = {("get", "/api/console/notices")}


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def client(database_url: str, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        webchat_secret=SecretStr("w"),
        client_frames_per_minute=READS_PER_MINUTE,
        queue_update_seconds=3600,
    )
    with TestClient(create_app(settings, engine=ScriptedEngine())) as client:
        with session_factory.begin() as session:
            for username, role in [("mei", "ops"), ("chen", "manager"), ("ana", "agent")]:
                session.add(
                    Agent(
                        username=username,
                        display_name=username.title(),
                        password_hash=_password_hash(),
                        role=role,
                    )
                )
        yield client


def _login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    answer = client.post("/api/console/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text


def _fan_out(session_factory: sessionmaker[Session], customers: int, sent: int) -> int:
    with session_factory.begin() as session:
        incident = declare_incident(session, draft=DRAFT, author=Author("Mei"))
        planned = []
        for customer in range(1, customers + 1):
            account = get_or_create_account(session, channel="telegram", external_id=f"{customer}")
            link_customer(session, account_id=account.id, customer_id=customer)
            recipient = Recipient(customer, account.id, "telegram")
            planned.append(PlannedNotice(recipient, ("100245",), "late"))
        outbox.create_batch(
            session, incident_id=incident.id, occasion=Occasion.NEW_ESTIMATE,
            author=Author("Mei"), notices=planned,
        )  # fmt: skip
        session.flush()
        ids = session.scalars(sa.select(Notice.id).order_by(Notice.id).limit(sent)).all()
        # The rest are being sent by another gateway: this one's sender leaves them be.
        session.execute(
            sa.update(Notice).values(state="sending", claimed_by="elsewhere", claimed_at=utc_now())
        )
        session.execute(sa.update(Notice).where(Notice.id.in_(ids)).values(state="sent"))
        return incident.id


def test_the_routes_are_the_ones_tested_here(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    routes = {
        (method, path)
        for path, operations in paths.items()
        if path.startswith("/api/console/notices")
        for method in operations
    }

    assert routes == ROUTES


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_every_route_refuses_without_a_session(client: TestClient, method: str, path: str) -> None:
    answer = client.request(method, path)

    assert answer.status_code == 401
    assert answer.json()["detail"].startswith("log in first")


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_every_route_refuses_an_agent(client: TestClient, method: str, path: str) -> None:
    _login(client, "ana")

    answer = client.request(method, path)

    assert answer.status_code == 403
    assert answer.json() == {"detail": "incident notices are for ops and managers"}


@pytest.mark.parametrize("username", ["mei", "chen"])
def test_ops_and_managers_see_each_fan_out_as_the_chat_tells_it(
    client: TestClient, session_factory: sessionmaker[Session], username: str
) -> None:
    incident_id = _fan_out(session_factory, customers=12, sent=5)
    _login(client, username)

    answer = client.get("/api/console/notices")

    assert answer.status_code == 200
    [fan_out] = answer.json()["incidents"]
    assert {key: fan_out[key] for key in ("incident_id", "title", "occasion")} == {
        "incident_id": incident_id,
        "title": DRAFT.title,
        "occasion": "new_estimate",
    }
    assert (fan_out["planned"], fan_out["sent"], fan_out["failed"], fan_out["left"]) == (
        12, 5, 0, 7,
    )  # fmt: skip
    assert fan_out["summary"].startswith(f"incident {incident_id}: 5 of 12 notices sent, 0 failed")
    assert fan_out["minutes_left"] == 1


def test_reads_are_limited_per_member(client: TestClient) -> None:
    _login(client, "mei")
    answers = [client.get("/api/console/notices") for _ in range(READS_PER_MINUTE + 1)]

    assert [a.status_code for a in answers] == [200] * READS_PER_MINUTE + [429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    _login(client, "chen")  # another member has a budget of their own
    assert client.get("/api/console/notices").status_code == 200
