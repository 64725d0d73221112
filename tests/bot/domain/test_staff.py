"""Roles and what each may do."""

from __future__ import annotations

import pytest

from bot.domain.staff import Permission, Role, may, parse_role


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.AGENT, {Permission.CONSOLE}),
        (Role.OPS, {Permission.CONSOLE, Permission.INCIDENTS, Permission.REPORTS}),
        (Role.MANAGER, set(Permission)),
    ],
)
def test_each_role_may_do_its_own_and_the_narrower_roles_work(
    role: Role, allowed: set[Permission]
) -> None:
    assert {permission for permission in Permission if may(role, permission)} == allowed


@pytest.mark.parametrize("role", [None, "", "admin", "root", "customer", "OPS "])
def test_an_unknown_or_missing_role_grants_nothing_but_a_stored_one_is_read(
    role: str | None,
) -> None:
    expected = role == "OPS "  # as typed: case and spaces do not matter
    assert may(role, Permission.INCIDENTS) is expected
    assert may(role, Permission.STAFF) is False


def test_roles_are_parsed_as_people_type_them() -> None:
    assert parse_role(" Manager") is Role.MANAGER
    assert parse_role("superuser") is None
