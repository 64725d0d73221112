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
    disable,
    end_session,
    list_staff,
    live_session,
    set_role,
    set_status,
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


def test_staff_have_a_role_and_a_wrong_role_is_refused(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        ops = add_agent(
            session, username="chen", display_name="Chen Ops", password=PASSWORD, role="ops"
        )
        assert ops.role == "ops"
        with pytest.raises(AgentInputError, match="the role must be one of agent, ops, manager"):
            add_agent(session, username="root", display_name="X", password=PASSWORD, role="admin")
    _add(session_factory)

    with session_factory() as session:
        assert [(m.username, m.role) for m in list_staff(session)] == [
            ("chen", "ops"),
            ("mei", "agent"),
        ]


def test_a_role_can_be_changed_but_not_to_an_unknown_one(
    session_factory: sessionmaker[Session],
) -> None:
    _add(session_factory)
    with session_factory.begin() as session:
        assert set_role(session, username="mei", role="Manager").role == "manager"
        with pytest.raises(AgentInputError):
            set_role(session, username="mei", role="owner")
        with pytest.raises(AgentInputError, match="no staff member called 'nobody'"):
            set_role(session, username="nobody", role="ops")


def test_a_disabled_member_is_signed_out_everywhere_and_cannot_sign_in(
    session_factory: sessionmaker[Session],
) -> None:
    agent_id = _add(session_factory)
    with session_factory.begin() as session:
        token = start_session(session, agent_id=agent_id, lifetime=timedelta(hours=8))
        set_status(session, agent_id=agent_id, status="available")

    with session_factory.begin() as session:
        disable(session, username="mei")

    with session_factory.begin() as session:
        assert agent_for_token(session, token=token) is None
        assert authenticate(session, username="mei", password=PASSWORD) is None
        assert session.scalar(sa.select(sa.func.count()).select_from(AgentSession)) == 0
        member = session.get(Agent, agent_id)
        assert member is not None and member.status == "away"
        # A session that raced the disabling is no session either.
        raced = start_session(session, agent_id=agent_id, lifetime=timedelta(hours=8))
    with session_factory() as session:
        assert agent_for_token(session, token=raced) is None
