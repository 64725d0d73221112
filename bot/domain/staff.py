"""Who on the shop's staff may do what: one role per person, wider roles include narrower.

An agent answers customers in the console; ops also run incidents (declare, update,
notify) and read the desk's figures; a manager also manages the staff. Every route,
page and action that is not an agent's asks `may(role, permission)`, so the answer
lives in one place.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    OPS = "ops"
    MANAGER = "manager"


class Permission(StrEnum):
    CONSOLE = "console"  # take and answer customers, notes, call-backs
    INCIDENTS = "incidents"  # read and run incidents, the queue's state, the ops chat
    REPORTS = "reports"  # the desk's KPIs
    STAFF = "staff"  # add staff, change roles, disable accounts


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: frozenset({Permission.CONSOLE}),
    Role.OPS: frozenset({Permission.CONSOLE, Permission.INCIDENTS, Permission.REPORTS}),
    Role.MANAGER: frozenset(Permission),
}


def parse_role(value: str) -> Role | None:
    """A role as typed or stored; None for anything else (an unknown role grants nothing)."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        return None


def may(role: Role | str | None, permission: Permission) -> bool:
    """False for a missing or unknown role: access is granted, never assumed."""
    known = role if isinstance(role, Role) else parse_role(role or "")
    return known is not None and permission in _GRANTS[known]


def role_names() -> str:
    return ", ".join(role.value for role in Role)
