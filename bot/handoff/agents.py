"""Storage functions for the staff (agents, ops, managers) and their console sessions."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.domain.staff import Role, parse_role, role_names
from bot.handoff.passwords import hash_password, password_problem, verify_password
from bot.storage.conversations import hash_token
from bot.storage.staff_links import forget_member
from bot.storage.tables import Agent, AgentSession, Handoff, utc_now

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")
AGENT_STATUSES = ("available", "away")


class AgentInputError(ValueError):
    """Something an operator typed is not acceptable; the message says what."""


def checked_role(value: str) -> Role:
    role = parse_role(value)
    if role is None:
        raise AgentInputError(f"the role must be one of {role_names()}")
    return role


def add_agent(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    capacity: int = 3,
    role: str = Role.AGENT,
) -> Agent:
    staff_role = checked_role(role)
    if not USERNAME.fullmatch(username):
        raise AgentInputError(
            "the username needs 3 to 32 characters: lower-case letters, digits, . _ -"
        )
    if not display_name.strip() or len(display_name) > 64:
        raise AgentInputError("the display name needs 1 to 64 characters")
    if not 1 <= capacity <= 20:
        raise AgentInputError("capacity must be between 1 and 20 conversations at once")
    problem = password_problem(password)
    if problem:
        raise AgentInputError(problem)
    if session.scalars(sa.select(Agent).where(Agent.username == username)).first():
        raise AgentInputError(f"a staff member called {username!r} already exists")
    agent = Agent(
        username=username,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        status="away",
        capacity=capacity,
        created_at=utc_now(),
        role=staff_role.value,
    )
    session.add(agent)
    session.flush()
    return agent


def authenticate(session: Session, *, username: str, password: str) -> Agent | None:
    """A disabled account is checked like any other (the same work, the same answer as a
    wrong password), and refused."""
    agent = session.scalars(sa.select(Agent).where(Agent.username == username)).first()
    if not verify_password(agent.password_hash if agent else None, password):
        return None
    if agent is None or agent.disabled_at is not None:
        return None
    return agent


def staff_member(session: Session, *, username: str) -> Agent:
    agent = session.scalars(sa.select(Agent).where(Agent.username == username)).first()
    if agent is None:
        raise AgentInputError(f"there is no staff member called {username!r}")
    return agent


def list_staff(session: Session) -> list[Agent]:
    """Everyone, disabled accounts too (the record keeps their names), by username."""
    return list(session.scalars(sa.select(Agent).order_by(Agent.username)))


def set_role(session: Session, *, username: str, role: str) -> Agent:
    """Takes effect on the next request: routes read the role from the database."""
    agent = staff_member(session, username=username)
    agent.role = checked_role(role).value
    session.flush()
    return agent


def disable(session: Session, *, username: str) -> Agent:
    """Signs the person out everywhere (their open consoles close when they next check
    the session, within a minute), takes them off the queue, and keeps the account for
    the record. Their taken conversations stay assigned for a colleague to see."""
    agent = staff_member(session, username=username)
    agent.disabled_at = agent.disabled_at or utc_now()
    agent.status = "away"
    session.execute(sa.delete(AgentSession).where(AgentSession.agent_id == agent.id))
    forget_member(session, agent_id=agent.id)  # their Telegram chat is a customer's again
    session.flush()
    return agent


def start_session(session: Session, *, agent_id: int, lifetime: timedelta) -> str:
    """Returns the cookie's token this once; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    session.add(
        AgentSession(
            token_hash=hash_token(token),
            agent_id=agent_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def live_session(
    session: Session, *, token_hash: str, now: datetime | None = None
) -> AgentSession | None:
    """By the token's hash, which is all an open console keeps of its cookie. A session
    of a disabled account is no session, even one that raced the disabling."""
    row = session.get(AgentSession, token_hash)
    if row is None or row.expires_at <= (now or utc_now()):
        return None
    agent = session.get(Agent, row.agent_id)
    if agent is None or agent.disabled_at is not None:
        return None
    return row


def agent_for_token(session: Session, *, token: str, now: datetime | None = None) -> Agent | None:
    row = live_session(session, token_hash=hash_token(token), now=now)
    return None if row is None else session.get(Agent, row.agent_id)


def end_session(session: Session, *, token: str) -> str:
    """Returns the token's hash, by which the session's open consoles are known."""
    token_hash = hash_token(token)
    session.execute(sa.delete(AgentSession).where(AgentSession.token_hash == token_hash))
    return token_hash


def set_status(session: Session, *, agent_id: int, status: str) -> Agent:
    if status not in AGENT_STATUSES:
        raise AgentInputError("status must be 'available' or 'away'")
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise LookupError(f"no agent {agent_id}")
    agent.status = status
    session.flush()
    return agent


def active_chats(session: Session, *, agent_id: int) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Handoff)
            .where(Handoff.agent_id == agent_id, Handoff.state == "assigned")
        )
        or 0
    )
