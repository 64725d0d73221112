"""`shopdesk staff …` and `shopdesk agents add`, run as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.stack import ROOT

PASSWORD = "correct horse battery"

Shopdesk = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def shopdesk(tmp_path: Path) -> Shopdesk:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'shopdesk.db'}"}

    def run(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ROOT / ".venv/bin/shopdesk"), *args],
            input=None if password is None else password + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


def _staff(shopdesk: Shopdesk) -> list[dict[str, object]]:
    listed = shopdesk("staff", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    members: list[dict[str, object]] = json.loads(listed.stdout)
    return members


def test_staff_are_added_with_roles_listed_changed_and_disabled(shopdesk: Shopdesk) -> None:
    added = shopdesk(
        "staff", "add", "chen", "--name", "Chen Jing", "--role", "ops", "--password-stdin",
        password=PASSWORD,
    )  # fmt: skip
    old_style = shopdesk("agents", "add", "mei", "--name", "Mei Chen", "--password-stdin", password=PASSWORD)  # fmt: skip  # noqa: E501

    assert added.returncode == 0 and "added ops chen (Chen Jing)" in added.stdout
    assert old_style.returncode == 0 and "added agent mei" in old_style.stdout
    assert [(m["username"], m["role"], m["status"]) for m in _staff(shopdesk)] == [
        ("chen", "ops", "away"),
        ("mei", "agent", "away"),
    ]

    assert shopdesk("staff", "set-role", "mei", "manager").stdout.strip() == "mei is now manager"
    disabled = shopdesk("staff", "disable", "chen")

    assert disabled.returncode == 0 and "cannot sign in" in disabled.stdout
    assert [(m["username"], m["role"], m["status"]) for m in _staff(shopdesk)] == [
        ("chen", "ops", "disabled"),
        ("mei", "manager", "away"),
    ]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("staff", "set-role", "nobody", "ops"), "there is no staff member called 'nobody'"),
        (("staff", "disable", "nobody"), "there is no staff member called 'nobody'"),
        (("staff", "set-role", "mei", "root"), "the role must be one of agent, ops, manager"),
    ],
)
def test_mistakes_get_a_clear_error_and_exit_2(
    shopdesk: Shopdesk, args: tuple[str, ...], problem: str
) -> None:
    shopdesk("agents", "add", "mei", "--name", "Mei Chen", "--password-stdin", password=PASSWORD)

    result = shopdesk(*args)

    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {problem}"
    assert "Traceback" not in result.stderr


def test_an_unknown_role_adds_nobody(shopdesk: Shopdesk) -> None:
    result = shopdesk(
        "staff", "add", "x-admin", "--name", "X", "--role", "admin", "--password-stdin",
        password=PASSWORD,
    )  # fmt: skip

    assert result.returncode == 2 and "the role must be one of" in result.stderr
    assert _staff(shopdesk) == []
