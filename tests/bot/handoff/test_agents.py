"""Agents: accounts with Argon2id passwords, and console sessions that expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff.agents import (
    AgentInputError,
    add_agent,
    agent_for_token,
    authenticate,
    end_session,
    live_session,
    start_session,
)
from bot.storage.tables import Agent, AgentSession, utc_now

PASSWORD = "correct horse battery"


def _add(session_factory: sessionmaker[Session], username: str = "mei") -> int:
    with session_factory.begin() as session:
        return add_agent(session, username=username, display_name="Mei Chen", password=PASSWORD).id


def test_a_password_is_stored_only_as_an_argon2id_hash(
    session_factory: sessionmaker[Session],
) -> None:
    agent_id = _add(session_factory)

    with session_factory() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        assert agent.password_hash.startswith("$argon2id$")
        assert PASSWORD not in agent.password_hash
        assert agent.status == "away"


def test_only_the_right_password_authenticates(session_factory: sessionmaker[Session]) -> None:
    _add(session_factory)

    with session_factory() as session:
        assert authenticate(session, username="mei", password=PASSWORD) is not None
        assert authenticate(session, username="mei", password=PASSWORD + "!") is None
        assert authenticate(session, username="nobody", password=PASSWORD) is None


@pytest.mark.parametrize(
    ("username", "name", "password", "capacity", "problem"),
    [
        ("Mei", "Mei", PASSWORD, 3, "the username needs 3 to 32 characters"),
        ("m", "Mei", PASSWORD, 3, "the username needs 3 to 32 characters"),
        ("mei", " ", PASSWORD, 3, "the display name needs 1 to 64 characters"),
        ("mei", "Mei", "short", 3, "the password needs at least 10 characters"),
        ("mei", "Mei", PASSWORD, 0, "capacity must be between 1 and 20"),
    ],
)
def test_bad_agent_details_are_refused_with_a_reason(
    session_factory: sessionmaker[Session],
    username: str,
    name: str,
    password: str,
    capacity: int,
    problem: str,
) -> None:
    with session_factory.begin() as session, pytest.raises(AgentInputError, match=problem):
        add_agent(
            session, username=username, display_name=name, password=password, capacity=capacity
        )


def test_a_username_is_taken_once(session_factory: sessionmaker[Session]) -> None:
    _add(session_factory)

    with session_factory.begin() as session, pytest.raises(AgentInputError, match="already"):
        add_agent(session, username="mei", display_name="Other", password=PASSWORD)


def test_sessions_are_stored_hashed_expire_and_end(session_factory: sessionmaker[Session]) -> None:
    agent_id = _add(session_factory)
    with session_factory.begin() as session:
        token = start_session(session, agent_id=agent_id, lifetime=timedelta(hours=8))

    with session_factory() as session:
        assert session.get(AgentSession, token) is None  # only the hash is a key
        assert agent_for_token(session, token=token) is not None
        later = utc_now() + timedelta(hours=8, seconds=1)
        assert agent_for_token(session, token=token, now=later) is None
        assert agent_for_token(session, token="made-up") is None
    with session_factory.begin() as session:
        end_session(session, token=token)
    with session_factory() as session:
        assert agent_for_token(session, token=token) is None


def test_an_open_console_can_read_its_session_by_the_tokens_hash_alone(
    session_factory: sessionmaker[Session],
) -> None:
    """A console socket keeps the hash, not the cookie, to see whether its session lasts."""
    agent_id = _add(session_factory)
    with session_factory.begin() as session:
        token = start_session(session, agent_id=agent_id, lifetime=timedelta(hours=8))
        row = session.scalars(sa.select(AgentSession)).one()
        token_hash, expires_at = row.token_hash, row.expires_at

    with session_factory() as session:
        live = live_session(session, token_hash=token_hash)
        later = utc_now() + timedelta(hours=8, seconds=1)
        expired = live_session(session, token_hash=token_hash, now=later)
    with session_factory.begin() as session:
        ended = end_session(session, token=token)
    with session_factory() as session:
        after_end = live_session(session, token_hash=token_hash)

    assert live is not None and live.expires_at == expires_at and live.agent_id == agent_id
    assert expired is None
    assert ended == token_hash  # what the console hub knows the session's sockets by
    assert after_end is None
