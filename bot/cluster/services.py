"""One process of the cluster: started, checked, stopped or killed on purpose.

The fault tests kill one (SIGKILL, as a crashed machine would leave it) and start it
again; `make run-cluster` starts a dead one again, as systemd's Restart=always would.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_POLL_SECONDS = 0.3
STOP_SECONDS = 20.0

Readiness = Callable[[httpx.Client], bool]


def answers_200(url: str) -> Readiness:
    def ready(client: httpx.Client) -> bool:
        return client.get(url).status_code == 200

    return ready


def has_a_model(status_url: str, token: str) -> Readiness:
    """An engine's HTTP API answers before its model is loaded; ready means loaded."""

    def ready(client: httpx.Client) -> bool:
        response = client.get(status_url, params={"token": token})
        return response.status_code == 200 and bool(response.json().get("model_file"))

    return ready


@dataclass
class Service:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    ready: Readiness
    cwd: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                self.args, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        assert self._process is not None, f"{self.name} was never started"
        return self._process.pid

    def is_ready(self, client: httpx.Client) -> bool:
        try:
            return self.running and self.ready(client)
        except (httpx.HTTPError, ValueError):
            return False

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while not self.is_ready(client):
                if not self.running:
                    raise RuntimeError(f"{self.name} exited; the end of {self.log}:\n{self.tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not ready after {timeout:g} s:\n{self.tail()}")
                time.sleep(READY_POLL_SECONDS)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; SIGKILL if it does not go in time."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def kill(self) -> None:
        """SIGKILL: no goodbye, no lease given up, sockets cut."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()

    def tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""
