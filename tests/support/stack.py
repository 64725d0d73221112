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

from bot.demo.listing import demo_orders
from bot.demo.seed import seed_demo_shop
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "shopdesk.tar.gz"


@dataclass
class Stack:
    gateway_url: str
    rasa_url: str
    rasa_token: str
    shop_database_url: str
    database_url: str
    logs: Path

    def orders(self) -> list[dict[str, Any]]:
        return demo_orders(self.shop_database_url)


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
def running_stack(workdir: Path) -> Iterator[Stack]:
    if not MODEL.exists():
        raise RuntimeError("models/shopdesk.tar.gz is missing: run `make train`")
    shop_db = f"sqlite:///{workdir / 'demo_shop.db'}"
    seed_demo_shop(shop_db, today=date.today())
    ports = {name: free_port() for name in ("rasa", "actions", "gateway")}
    tokens = {name: secrets.token_urlsafe(16) for name in ("channel", "rasa", "actions")}
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        "action_endpoint:\n"
        f'  url: "http://127.0.0.1:{ports["actions"]}/webhook"\n'
        "  token: ${SHOPDESK_ACTION_SERVER_TOKEN}\n"
        "tracker_store:\n  type: SQL\n  dialect: sqlite\n"
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
    }
    rasa = [
        str(ROOT / ".venv-rasa/bin/rasa"),
        "run",
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
        "--auth-token",
        tokens["rasa"],
    ]
    python = str(ROOT / ".venv/bin/python")
    with ExitStack() as stack:
        actions = stack.enter_context(
            _process([python, "-m", "bot.action_server"], env, workdir / "actions.log")
        )
        engine = stack.enter_context(_process(rasa, env, workdir / "rasa.log"))
        gateway = stack.enter_context(
            _process([python, "-m", "bot.web"], env, workdir / "gateway.log")
        )
        _wait_for(
            f"http://127.0.0.1:{ports['actions']}/health",
            actions,
            "action server",
            workdir / "actions.log",
            60,
        )
        _wait_for(
            f"http://127.0.0.1:{ports['gateway']}/healthz",
            gateway,
            "gateway",
            workdir / "gateway.log",
            60,
        )
        _wait_for(
            f"http://127.0.0.1:{ports['rasa']}/status?token={tokens['rasa']}",
            engine,
            "Rasa engine",
            workdir / "rasa.log",
            180,
        )
        yield Stack(
            gateway_url=f"http://127.0.0.1:{ports['gateway']}",
            rasa_url=f"http://127.0.0.1:{ports['rasa']}",
            rasa_token=tokens["rasa"],
            shop_database_url=shop_db,
            database_url=env["DATABASE_URL"],
            logs=workdir,
        )
