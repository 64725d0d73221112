"""Link codes and linked chats of staff members, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff.agents import disable, set_role
from bot.storage.ops_tables import StaffChatLink, StaffLinkCode
from bot.storage.staff_links import (
    CODE_ALPHABET,
    CODE_LENGTH,
    chat_link,
    issue_link_code,
    linked_member,
    normalised_code,
    redeem_link_code,
    unlink_chat,
    unlink_member,
)
from bot.storage.tables import Agent, utc_now


def add_member(
    session_factory: sessionmaker[Session], username: str, role: str, name: str = ""
) -> int:
    """A staff row without the cost of a password hash: these tests never sign in."""
    with session_factory.begin() as session:
        agent = Agent(
            username=username,
            display_name=name or username.title(),
            password_hash="not-a-hash",
            role=role,
        )
        session.add(agent)
        session.flush()
        return agent.id


def _code_for(session_factory: sessionmaker[Session], agent_id: int) -> str:
    with session_factory.begin() as session:
        return issue_link_code(session, agent_id=agent_id).code


def _redeem(
    session_factory: sessionmaker[Session], code: str, chat: str, **kwargs: object
) -> int | None:
    with session_factory.begin() as session:
        member = redeem_link_code(
            session,
            code=code,
            channel="telegram",
            external_id=chat,
            **kwargs,  # type: ignore[arg-type]
        )
        return None if member is None else member.id


def _links(session_factory: sessionmaker[Session]) -> list[tuple[int, str, str]]:
    with session_factory() as session:
        return [
            (link.agent_id, link.channel, link.external_id)
            for link in session.scalars(sa.select(StaffChatLink).order_by(StaffChatLink.id))
        ]


def test_a_code_is_typeable_and_only_its_hash_is_stored(
    session_factory: sessionmaker[Session],
) -> None:
    mei = add_member(session_factory, "mei", "ops")

    with session_factory.begin() as session:
        issued = issue_link_code(session, agent_id=mei)
    with session_factory() as session:
        row = session.scalars(sa.select(StaffLinkCode)).one()

    assert len(issued.code) == CODE_LENGTH and set(issued.code) <= set(CODE_ALPHABET)
    assert not set(issued.code) & set("01OIL")
    assert row.code_hash == hashlib.sha256(issued.code.encode()).hexdigest()
    assert issued.code not in {row.code_hash, str(row.agent_id)}
    assert (
        timedelta(minutes=9, seconds=59) < row.expires_at - row.created_at <= timedelta(minutes=10)
    )


def test_codes_are_random(session_factory: sessionmaker[Session]) -> None:
    mei = add_member(session_factory, "mei", "ops")

    codes = {_code_for(session_factory, mei) for _ in range(20)}

    assert len(codes) == 20


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("K7QF3MZP", "K7QF3MZP"),
        ("k7qf3mzp", "K7QF3MZP"),
        (" K7QF 3MZP ", "K7QF3MZP"),
        ("K7QF-3MZP", "K7QF3MZP"),
        ("K7QF3MZ", None),
        ("K7QF3MZPP", None),
        ("K7QF3MZ0", None),  # no zero in the alphabet
        ("K7QF3MZ\u00e9", None),
        ("", None),
    ],
)
def test_codes_are_read_as_people_type_them(typed: str, normal: str | None) -> None:
    assert normalised_code(typed) == normal


def test_a_code_links_once_only(session_factory: sessionmaker[Session]) -> None:
    mei = add_member(session_factory, "mei", "ops", "Mei Lin")
    code = _code_for(session_factory, mei)

    first = _redeem(session_factory, code.lower(), "7001")
    second = _redeem(session_factory, code, "7002")

    assert (first, second) == (mei, None)
    assert _links(session_factory) == [(mei, "telegram", "7001")]
    with session_factory() as session:
        member = linked_member(session, channel="telegram", external_id="7001")
    assert member is not None and (member.display_name, member.role) == ("Mei Lin", "ops")


def test_a_code_expires_after_ten_minutes(session_factory: sessionmaker[Session]) -> None:
    mei = add_member(session_factory, "mei", "ops")
    code = _code_for(session_factory, mei)
    later = utc_now() + timedelta(minutes=10, seconds=1)

    assert _redeem(session_factory, code, "7001", now=later) is None
    assert _redeem(session_factory, code, "7001", now=utc_now() + timedelta(minutes=9)) == mei


def test_a_new_code_replaces_the_members_unused_ones_only(
    session_factory: sessionmaker[Session],
) -> None:
    mei = add_member(session_factory, "mei", "ops")
    chen = add_member(session_factory, "chen", "manager")
    old = _code_for(session_factory, mei)
    chens = _code_for(session_factory, chen)
    new = _code_for(session_factory, mei)

    assert _redeem(session_factory, old, "7001") is None
    assert _redeem(session_factory, new, "7001") == mei
    assert _redeem(session_factory, chens, "7002") == chen


@pytest.mark.parametrize("wrong", ["ABCDEFGH", "not a code", "", "7" * 200])
def test_a_wrong_code_links_nothing(session_factory: sessionmaker[Session], wrong: str) -> None:
    mei = add_member(session_factory, "mei", "ops")
    _code_for(session_factory, mei)

    assert _redeem(session_factory, wrong, "7001") is None
    assert _links(session_factory) == []


def test_a_member_who_may_no_longer_run_incidents_cannot_use_their_code(
    session_factory: sessionmaker[Session],
) -> None:
    mei = add_member(session_factory, "mei", "ops")
    demoted = _code_for(session_factory, mei)
    with session_factory.begin() as session:
        set_role(session, username="mei", role="agent")

    assert _redeem(session_factory, demoted, "7001") is None


def test_a_disabled_member_loses_link_and_codes(session_factory: sessionmaker[Session]) -> None:
    mei = add_member(session_factory, "mei", "ops")
    _redeem(session_factory, _code_for(session_factory, mei), "7001")
    waiting = _code_for(session_factory, mei)

    with session_factory.begin() as session:
        disable(session, username="mei")

    assert _links(session_factory) == []
    assert _redeem(session_factory, waiting, "7001") is None
    with session_factory() as session:
        assert session.scalars(sa.select(StaffLinkCode)).all() == []


def test_a_new_link_replaces_the_members_and_the_chats_earlier_ones(
    session_factory: sessionmaker[Session],
) -> None:
    mei = add_member(session_factory, "mei", "ops")
    chen = add_member(session_factory, "chen", "ops")
    _redeem(session_factory, _code_for(session_factory, mei), "7001")
    _redeem(session_factory, _code_for(session_factory, chen), "7002")

    _redeem(session_factory, _code_for(session_factory, mei), "7003")  # Mei's new phone
    _redeem(session_factory, _code_for(session_factory, chen), "7003")  # Chen takes it over

    assert _links(session_factory) == [(chen, "telegram", "7003")]


def test_unlinking_from_the_console_or_the_chat(session_factory: sessionmaker[Session]) -> None:
    mei = add_member(session_factory, "mei", "ops")
    chen = add_member(session_factory, "chen", "ops")
    _redeem(session_factory, _code_for(session_factory, mei), "7001")
    _redeem(session_factory, _code_for(session_factory, chen), "7002")
    unused = _code_for(session_factory, mei)

    with session_factory.begin() as session:
        removed = unlink_member(session, agent_id=mei)
        assert removed is not None and removed.external_id == "7001"
        assert unlink_member(session, agent_id=mei) is None
    with session_factory.begin() as session:
        from_chat = unlink_chat(session, channel="telegram", external_id="7002")
        assert from_chat is not None and from_chat.id == chen
        assert unlink_chat(session, channel="telegram", external_id="7002") is None

    assert _links(session_factory) == []
    assert _redeem(session_factory, unused, "7001") is None  # unlinking ends shown codes too
    with session_factory() as session:
        assert chat_link(session, agent_id=mei) is None
