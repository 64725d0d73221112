"""The real Shopdesk stack for conversation tests: Rasa engine, action server, gateway.

Each process runs from the project's own virtualenvs on free loopback ports, with
its databases in a temporary directory, exactly as `make run` starts them.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bot.demo.declared_incidents import declare_demo_incidents
from bot.demo.listing import demo_orders
from bot.demo.seed import seed_demo_shop
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "shopdesk.tar.gz"

# Every simulated customer of the conversation tests and benchmarks comes from
# 127.0.0.1, so one address stands for a crowd: the per-client limits must not
# apply to it. (tests/security/ runs a stack with the real limits.)
LOOPBACK_CROWD_LIMITS = {
    "SHOPDESK_CLIENT_CONVERSATIONS_LIMIT": "1000000",
    "SHOPDESK_CLIENT_MESSAGES_LIMIT": "1000000",
    "SHOPDESK_CLIENT_FRAMES_PER_MINUTE": "1000000",
    "SHOPDESK_PROOF_CLIENT_FAILURES_PER_HOUR": "1000000",
    "SHOPDESK_PROOF_CLIENT_FAILURES_PER_DAY": "1000000",
}


@dataclass
class Stack:
    gateway_url: str
    rasa_url: str
    rasa_token: str
    shop_database_url: str
    database_url: str
    logs: Path
    # Stop and start the engine and the action server, for tests of what happens meanwhile.
    engine_control: ServiceControl
    actions_control: ServiceControl

    def orders(self) -> list[dict[str, Any]]:
        return demo_orders(self.shop_database_url)


class ServiceControl:
    """One process of a running stack, which a test may stop and start again."""

    def __init__(
        self, name: str, args: list[str], env: dict[str, str], log: Path, ready_url: str
    ) -> None:
        self._name, self._args, self._env, self._log = name, args, env, log
        self._ready_url = ready_url
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as out:
            self._process = subprocess.Popen(
                self._args, cwd=ROOT, env=self._env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 180) -> None:
        """For the engine, until its model is loaded: its HTTP API answers before that."""
        assert self._process is not None
        _wait_for(self._ready_url, self._process, self._name, self._log, timeout)
        if "/status" not in self._ready_url:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if httpx.get(self._ready_url, timeout=2).json().get("model_file"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self._name} loaded no model:\n{self._log.read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        assert self._process is not None, f"{self._name} is not running"
        return self._process.pid

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def _wait_for(
    url: str, process: subprocess.Popen[bytes], name: str, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{name} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_stack(workdir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """`extra_env` reaches every process (a fake Telegram API's address, say)."""
    if not MODEL.exists():
        raise RuntimeError("models/shopdesk.tar.gz is missing: run `make train`")
    shop_db = f"sqlite:///{workdir / 'demo_shop.db'}"
    seed_demo_shop(shop_db, today=date.today())
    declare_demo_incidents(f"sqlite:///{workdir / 'shopdesk.db'}", today=date.today())
    ports = {name: free_port() for name in ("rasa", "actions", "gateway")}
    tokens = {name: secrets.token_urlsafe(16) for name in ("channel", "rasa", "actions")}
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        "action_endpoint:\n"
        f'  url: "http://127.0.0.1:{ports["actions"]}/webhook"\n'
        "  token: ${SHOPDESK_ACTION_SERVER_TOKEN}\n"
        "tracker_store:\n  type: bot.engine.runtime.tracker_store.CachedSQLTrackerStore\n"
        "  dialect: sqlite\n"
        f'  db: "{workdir / "tracker.db"}"\n'
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "DATABASE_URL": f"sqlite:///{workdir / 'shopdesk.db'}",
        "SHOPDESK_SHOP_DATABASE_URL": shop_db,
        "SHOPDESK_RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
        "SHOPDESK_ACTION_SERVER_PORT": str(ports["actions"]),
        "SHOPDESK_GATEWAY_PORT": str(ports["gateway"]),
        "SHOPDESK_ENGINE_CHANNEL_TOKEN": tokens["channel"],
        "SHOPDESK_RASA_AUTH_TOKEN": tokens["rasa"],
        "SHOPDESK_ACTION_SERVER_TOKEN": tokens["actions"],
        "SHOPDESK_WEBCHAT_SECRET": secrets.token_urlsafe(16),
        "SHOPDESK_REPLAY_INTERVAL_SECONDS": "0.5",
        **(extra_env or {}),
    }
    rasa = [
        str(ROOT / ".venv-rasa/bin/python"),
        "-m",
        "bot.engine.serve",
        "--model",
        str(MODEL),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--interface",
        "127.0.0.1",
        "--port",
        str(ports["rasa"]),
        "--enable-api",
    ]
    python = str(ROOT / ".venv/bin/python")
    with ExitStack() as stack:
        actions = ServiceControl(
            "action server",
            [python, "-m", "bot.action_server"],
            env,
            workdir / "actions.log",
            f"http://127.0.0.1:{ports['actions']}/health",
        )
        actions.start()
        stack.callback(actions.stop)
        engine = ServiceControl(
            "Rasa engine",
            rasa,
            env,
            workdir / "rasa.log",
            f"http://127.0.0.1:{ports['rasa']}/status?token={tokens['rasa']}",
        )
        engine.start()
        stack.callback(engine.stop)
        gateway = stack.enter_context(
            _process([python, "-m", "bot.web"], env, workdir / "gateway.log")
        )
        actions.wait_ready(60)
        _wait_for(
            f"http://127.0.0.1:{ports['gateway']}/healthz",
            gateway,
            "gateway",
            workdir / "gateway.log",
            60,
        )
        engine.wait_ready()
        yield Stack(
            gateway_url=f"http://127.0.0.1:{ports['gateway']}",
            rasa_url=f"http://127.0.0.1:{ports['rasa']}",
            rasa_token=tokens["rasa"],
            shop_database_url=shop_db,
            database_url=env["DATABASE_URL"],
            logs=workdir,
            engine_control=engine,
            actions_control=actions,
        )
