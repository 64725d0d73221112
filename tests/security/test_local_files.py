"""Local secrets and data, as another user of the machine would look for them (issue 19,
finding 7): no token in any process's arguments, nothing under var/ readable by others."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.storage.local_files import private_file, tighten
from tests.support.ports import free_port
from tests.support.stack import ROOT, Stack


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _loose_umask() -> None:
    os.umask(0o022)  # what a login shell usually has: files 0644, folders 0755


def test_the_engine_gets_its_token_without_showing_it_in_the_process_list(
    security_stack: Stack,
) -> None:
    cmdline = Path(f"/proc/{security_stack.engine_control.pid}/cmdline").read_bytes()

    assert security_stack.rasa_token.encode() not in cmdline
    assert b"bot.engine.serve" in cmdline
    # And the engine does check it: its API refuses a wrong token.
    status = httpx.get(f"{security_stack.rasa_url}/status", params={"token": "wrong"}, timeout=5)
    assert status.status_code == 401


def test_the_running_stack_keeps_its_databases_to_its_owner(security_stack: Stack) -> None:
    databases = sorted(security_stack.logs.glob("*.db*"))

    assert {path.name for path in databases} >= {"shopdesk.db", "tracker.db", "demo_shop.db"}
    for path in databases:
        if path.name != "demo_shop.db":  # seeded by the test itself, not by a process
            assert _mode(path) == 0o600, path


def test_a_new_gateway_makes_its_data_folder_and_files_private(tmp_path: Path) -> None:
    data = tmp_path / "var"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{data / 'shopdesk.db'}",
        "SHOPDESK_GATEWAY_PORT": str(port),
        "SHOPDESK_WEBCHAT_SECRET": "x" * 32,
        "TELEGRAM_TOKEN": "",
    }
    gateway = subprocess.Popen(
        [sys.executable, "-m", "bot.web"],
        cwd=ROOT,
        env=env,
        preexec_fn=_loose_umask,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        httpx.post(f"http://127.0.0.1:{port}/api/conversations", timeout=5)
    finally:
        gateway.terminate()
        gateway.wait(timeout=20)

    assert _mode(data) == 0o700
    files = sorted(data.iterdir())
    assert files and all(_mode(path) == 0o600 for path in files), [
        (path.name, oct(_mode(path))) for path in files
    ]


def test_secrets_init_writes_a_private_file_in_a_private_folder(tmp_path: Path) -> None:
    target = tmp_path / "fresh" / "secrets.env"

    subprocess.run(
        [str(ROOT / ".venv/bin/shopdesk"), "secrets", "init", "--path", str(target)],
        check=True,
        preexec_fn=_loose_umask,
        capture_output=True,
    )

    assert _mode(target.parent) == 0o700
    assert _mode(target) == 0o600
    assert "SHOPDESK_RASA_AUTH_TOKEN=" in target.read_text()


def test_an_older_install_is_tightened(tmp_path: Path) -> None:
    old = tmp_path / "var"
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    for name in ("shopdesk.db", "rasa_tracker.db", "secrets.env"):
        (old / name).write_text("")
        (old / name).chmod(0o644)

    changed = tighten(old)

    assert len(changed) == 4
    assert _mode(old) == 0o700
    assert all(_mode(path) == 0o600 for path in old.iterdir())
    assert tighten(old) == []


def test_a_database_file_is_created_private_but_an_existing_folder_is_left_alone(
    tmp_path: Path,
) -> None:
    tmp_path.chmod(0o755)
    os.umask(original := os.umask(0o022))
    try:
        private_file(tmp_path / "shopdesk.db")
    finally:
        os.umask(original)

    assert _mode(tmp_path / "shopdesk.db") == 0o600
    assert _mode(tmp_path) == 0o755


@pytest.mark.parametrize("given", [["--auth-token", "x"], ["--auth-token=x"]])
def test_the_engine_launcher_refuses_a_token_on_the_command_line(given: list[str]) -> None:
    from bot.engine.serve import rasa_arguments

    with pytest.raises(SystemExit):
        rasa_arguments(["--enable-api", *given], "secret")
    assert rasa_arguments(["--enable-api"], "secret")[-1] == "--auth-token=secret"
