"""`shopdesk staff …` (and the older `shopdesk agents add`): the shop's staff accounts.

Run by whoever operates the installation, on its machine: that is the root of trust
that the console's own staff management will build on. Passwords are asked for (or
read from standard input), never taken as arguments, which every user of the machine
could read in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from bot.domain.staff import Role, role_names
from bot.handoff.agents import AgentInputError, add_agent, disable, list_staff, set_role
from bot.settings import get_settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.storage.tables import Agent

Handler = Callable[[argparse.Namespace], int]


@contextmanager
def _staff_session() -> Iterator[Session]:
    settings = get_settings()
    upgrade(settings.database_url, schema="shopdesk")
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def _refused(error: AgentInputError) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(f"Password for {args.username}: ")
    if getpass.getpass("Again: ") != password:
        print("error: the passwords differ", file=sys.stderr)
        return None
    return password


def _describe(member: Agent) -> dict[str, object]:
    return {
        "username": member.username,
        "name": member.display_name,
        "role": member.role,
        "capacity": member.capacity,
        "status": "disabled" if member.disabled_at is not None else member.status,
    }


def cmd_add(args: argparse.Namespace) -> int:
    """A staff member with a role; `agents add` is this with the agent role."""
    password = _read_password(args)
    if password is None:
        return 2
    try:
        with _staff_session() as session:
            member = add_agent(
                session,
                username=args.username,
                display_name=args.name,
                password=password,
                capacity=args.capacity,
                role=args.role,
            )
            print(
                f"added {member.role} {member.username} ({member.display_name}), "
                f"capacity {member.capacity}"
            )
    except AgentInputError as error:
        return _refused(error)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _staff_session() as session:
        members = [_describe(member) for member in list_staff(session)]
    if args.json:
        print(json.dumps(members, ensure_ascii=False))
        return 0
    for member in members:
        print(
            f"{member['username']:<20} {member['role']:<8} {member['status']:<9} {member['name']}"
        )
    if not members:
        print("no staff yet: shopdesk staff add NAME --name 'Full Name' --role agent")
    return 0


def cmd_set_role(args: argparse.Namespace) -> int:
    try:
        with _staff_session() as session:
            member = set_role(session, username=args.username, role=args.role)
            print(f"{member.username} is now {member.role}")
    except AgentInputError as error:
        return _refused(error)
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    try:
        with _staff_session() as session:
            member = disable(session, username=args.username)
            print(f"disabled {member.username}: signed out everywhere, cannot sign in")
    except AgentInputError as error:
        return _refused(error)
    return 0


def _add_parser(parser: argparse.ArgumentParser, *, with_role: bool) -> None:
    parser.add_argument("username", help="3-32 characters: a-z 0-9 . _ -")
    parser.add_argument("--name", required=True, help="the name customers and colleagues see")
    parser.add_argument("--capacity", type=int, default=3, help="chats at once (default 3)")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    if with_role:
        parser.add_argument(
            "--role", default=Role.AGENT.value, help=f"{role_names()} (default agent)"
        )
    else:
        parser.set_defaults(role=Role.AGENT.value)
    parser.set_defaults(handler=cmd_add)


def add_staff_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = commands.add_parser("staff", help="the shop's staff: agents, ops, managers")
    actions = staff.add_subparsers(dest="action", required=True)
    _add_parser(
        actions.add_parser("add", help="add a staff member; asks for the password"), with_role=True
    )
    listing = actions.add_parser("list", help="everyone, with role and status")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
    role = actions.add_parser("set-role", help=f"change a role ({role_names()})")
    role.add_argument("username")
    role.add_argument("role")
    role.set_defaults(handler=cmd_set_role)
    off = actions.add_parser("disable", help="sign someone out everywhere and lock the account")
    off.add_argument("username")
    off.set_defaults(handler=cmd_disable)

    agents = commands.add_parser(
        "agents", help="human agents of the console (staff with the agent role)"
    )
    agent_actions = agents.add_subparsers(dest="action", required=True)
    _add_parser(
        agent_actions.add_parser("add", help="create an agent; asks for the password"),
        with_role=False,
    )
