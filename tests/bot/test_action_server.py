"""The action server as it runs: it refuses calls without the shared token, and it has
loaded the knowledge base's encoder before it first answers its health check (so the
first customer's question, and a load balancer's "ready", mean what they say)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_the_encoder_is_loaded_before_the_first_health_answer(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "actions.log"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shopdesk.db'}",
        "SHOPDESK_ACTION_SERVER_PORT": str(port),
        "SHOPDESK_ACTION_SERVER_TOKEN": "actions-token",
    }
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.action_server"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        loaded_when_ready = None
        deadline = time.monotonic() + 120
        while loaded_when_ready is None:
            assert server.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    # Lazily, nothing would have asked for the encoder yet.
                    loaded_when_ready = "Loading SentenceTransformer model" in log.read_text()
            except httpx.HTTPError:
                time.sleep(0.1)
        refused = httpx.post(f"http://127.0.0.1:{port}/webhook", json={}, timeout=5)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert loaded_when_ready
    assert refused.status_code == 401
