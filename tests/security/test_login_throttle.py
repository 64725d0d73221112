"""Password guessing against the console's sign-in, on the real gateway (issue 19, finding 3)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

import bot.handoff.agents
from bot.handoff.agents import add_agent
from bot.handoff.passwords import verify_password as real_verify
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.web.app import create_app
from tests.support.engines import ScriptedEngine

PASSWORD = "correct horse battery"
ATTACKER, AGENTS_DESK = "203.0.113.9", "198.51.100.4"


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    database = make_engine(database_url)
    yield make_session_factory(database)
    database.dispose()


def _settings(database_url: str, **changes: object) -> Settings:
    return Settings(
        database_url=database_url,
        engine_channel_token=SecretStr("t"),
        webchat_secret=SecretStr("w"),
        queue_update_seconds=3600,
        **changes,  # type: ignore[arg-type]
    )


def _gateway(settings: Settings) -> FastAPI:
    return create_app(settings, engine=ScriptedEngine())


@pytest.fixture
def app(database_url: str) -> FastAPI:
    return _gateway(_settings(database_url))


@pytest.fixture
def attacker(app: FastAPI, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """The gateway, as seen from the attacker's address; runs the gateway's lifespan."""
    with TestClient(app, client=(ATTACKER, 50000)) as client:
        with session_factory.begin() as session:
            add_agent(session, username="mei", display_name="Mei Chen", password=PASSWORD)
        yield client


def _from(gateway: TestClient, address: str) -> TestClient:
    """Another client address on the same running gateway (and its event loop)."""
    other = TestClient(gateway.app, client=(address, 50000))
    other.portal = gateway.portal
    return other


def _login(client: TestClient, password: str, username: str = "mei") -> int:
    response = client.post("/api/console/login", json={"username": username, "password": password})
    return response.status_code


def test_twelve_wrong_passwords_then_the_right_one_do_not_sign_in(attacker: TestClient) -> None:
    wrong = [_login(attacker, f"guess number {n}") for n in range(12)]
    right = attacker.post("/api/console/login", json={"username": "mei", "password": PASSWORD})

    assert wrong[:5] == [401] * 5
    assert set(wrong[5:]) == {429}
    assert right.status_code == 429
    assert right.headers["retry-after"].isdigit() and int(right.headers["retry-after"]) >= 1
    assert right.json()["detail"].startswith("too many failed sign-ins")
    assert "set-cookie" not in right.headers
    assert attacker.get("/api/console/me").status_code == 401


def test_a_refused_sign_in_computes_no_hash(
    attacker: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashes: list[None] = []

    def counted(stored_hash: str | None, password: str) -> bool:
        hashes.append(None)
        return real_verify(stored_hash, password)

    monkeypatch.setattr(bot.handoff.agents, "verify_password", counted)

    for n in range(12):
        _login(attacker, f"guess number {n}")

    assert len(hashes) == 5


def test_an_unknown_name_is_refused_in_the_same_words(attacker: TestClient) -> None:
    answers = {}
    for username in ("mei", "nobody"):
        for n in range(5):
            _login(attacker, f"guess number {n}", username)
        refused = attacker.post(
            "/api/console/login", json={"username": username, "password": "one more"}
        )
        # The wait left differs by the time the tries took, nothing else.
        answers[username] = (refused.status_code, re.sub(r"\d+", "N", refused.json()["detail"]))

    assert answers["mei"] == answers["nobody"]
    assert answers["mei"][0] == 429


def test_an_attacker_elsewhere_does_not_lock_the_agent_out(attacker: TestClient) -> None:
    agent = _from(attacker, AGENTS_DESK)

    refused = [_login(attacker, f"guess number {n}") for n in range(12)]
    signed_in = agent.post("/api/console/login", json={"username": "mei", "password": PASSWORD})

    assert refused[-1] == 429
    assert signed_in.status_code == 200
    assert agent.get("/api/console/me").json()["username"] == "mei"


def test_an_agents_own_typos_are_forgiven_once_she_signs_in(attacker: TestClient) -> None:
    agent = _from(attacker, AGENTS_DESK)

    first = [_login(agent, "typo typo typo") for _ in range(4)] + [_login(agent, PASSWORD)]
    again = [_login(agent, "typo typo typo") for _ in range(4)] + [_login(agent, PASSWORD)]

    assert first == again == [401, 401, 401, 401, 200]


def test_sign_ins_beyond_the_hash_slots_are_told_to_come_back(
    database_url: str, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """So that parallel guesses cannot take every worker thread (and 64 MiB each)."""
    app = _gateway(_settings(database_url, login_hash_slots=1, login_hash_wait_seconds=0.1))
    hashing, release = threading.Event(), threading.Event()

    def held_for_mei(stored_hash: str | None, password: str) -> bool:
        if password == "held":
            hashing.set()
            release.wait(timeout=60)
        return real_verify(stored_hash, password)

    monkeypatch.setattr(bot.handoff.agents, "verify_password", held_for_mei)
    with TestClient(app, client=(ATTACKER, 50000)) as gateway:
        with session_factory.begin() as session:
            add_agent(session, username="mei", display_name="Mei Chen", password=PASSWORD)
        held: list[int] = []
        first = threading.Thread(target=lambda: held.append(_login(gateway, "held")))
        first.start()
        try:
            assert hashing.wait(timeout=60)
            busy = _from(gateway, AGENTS_DESK).post(
                "/api/console/login", json={"username": "mei", "password": PASSWORD}
            )
        finally:
            release.set()
            first.join()
        after = _login(_from(gateway, AGENTS_DESK), PASSWORD)

    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "1"
    assert "busy" in busy.json()["detail"]
    assert held == [401]
    assert after == 200
