"""The whole cluster: its datastores, its instances and the load balancer, started in an
order that lets each find what it needs, and stopped in the reverse."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from bot.cluster.datastores import PostgresServer, RedisServer
from bot.cluster.layout import LOOPBACK, ClusterLayout
from bot.cluster.services import Readiness, Service, answers_200, has_a_model

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "shopdesk.tar.gz"
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
ENGINE_ENDPOINTS = ROOT / "deploy" / "endpoints.cluster.yml"
SECRET_NAMES = (
    "SHOPDESK_ENGINE_CHANNEL_TOKEN",
    "SHOPDESK_RASA_AUTH_TOKEN",
    "SHOPDESK_ACTION_SERVER_TOKEN",
    "SHOPDESK_WEBCHAT_SECRET",
)
ENGINE_START_SECONDS = 300.0
START_SECONDS = 90.0


class Cluster:
    def __init__(
        self, layout: ClusterLayout, *, secrets: dict[str, str], env: dict[str, str] | None = None
    ) -> None:
        """`secrets`: the four shared tokens; `env`: more settings for every process."""
        missing = [name for name in SECRET_NAMES if not secrets.get(name)]
        if missing:
            raise ValueError(f"the cluster needs {', '.join(missing)}")
        self.layout = layout
        self.logs = layout.folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1",
            **layout.shared_env(),
            **secrets,
            **(env or {}),
        }
        self.postgres = PostgresServer(
            folder=layout.folder, port=layout.postgres_port, log=self.logs / "postgres.log"
        )
        self.redis = RedisServer(
            folder=layout.folder, port=layout.redis_port, log=self.logs / "redis.log"
        )
        self.services = {service.name: service for service in self._instances()}
        self.services["haproxy"] = self._haproxy()

    @property
    def url(self) -> str:
        return self.layout.url

    def start(self) -> None:
        """Everything, ready: the engines' models loaded, every check of HAProxy green."""
        if not MODEL.exists():
            raise RuntimeError("models/shopdesk.tar.gz is missing: run `make train`")
        self.postgres.start()
        self.postgres.create_databases()
        self.redis.start()
        self._prepare_databases()
        self._start_and_wait(list(self.services.values()))

    def heal(self) -> list[str]:
        """Starts what is not running (after a fault, or a kill on purpose) and waits until
        it is ready and HAProxy sees it; returns what it started."""
        if not self.postgres.running:
            self.postgres.start()
        if not self.redis.answers():
            self.redis.start()
        dead = [service for service in self.services.values() if not service.running]
        self._start_and_wait(dead)
        return [service.name for service in dead]

    def _start_and_wait(self, services: list[Service]) -> None:
        """All started at once (the engines load their models side by side), then each
        waited for, then HAProxy's view of them."""
        for service in services:
            service.start()
        for service in services:
            engine = service.name.startswith("engine")
            service.wait_ready(ENGINE_START_SECONDS if engine else START_SECONDS)
        self.wait_balanced()

    def stop(self) -> None:
        """Front to back: no new turn starts while the ones under way finish."""
        for kind in ("gateway", "engine", "actions", "haproxy"):
            for name, service in self.services.items():
                if name.startswith(kind):
                    service.stop()
        self.redis.stop()
        self.postgres.stop()

    def wait_balanced(self, timeout: float = START_SECONDS) -> None:
        """Until HAProxy sees every running instance up (its checks run every second)."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while not self._all_up(client):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"HAProxy does not see every instance up:\n{self.status()}")
                time.sleep(0.3)

    def status(self) -> str:
        """HAProxy's view: one line per instance and its state."""
        try:
            rows = httpx.get(f"{self.layout.stats_url};csv", timeout=2.0).text.splitlines()[1:]
        except httpx.HTTPError as error:
            return f"HAProxy's status page does not answer ({type(error).__name__})"
        lines = [row.split(",") for row in rows]
        servers = [f for f in lines if len(f) > 17 and f[1] != "FRONTEND"]
        return "\n".join(f"{f[0]}/{f[1]}: {f[17]}" for f in servers)

    def _all_up(self, client: httpx.Client) -> bool:
        try:
            rows = client.get(f"{self.layout.stats_url};csv").text.splitlines()[1:]
        except httpx.HTTPError:
            return False
        running = {name for name, service in self.services.items() if service.running}
        states = {f[1]: f[17] for f in (row.split(",") for row in rows) if len(f) > 17}
        return all(states.get(name) == "UP" for name in running if name != "haproxy")

    def _prepare_databases(self) -> None:
        """Migrations and the demo shop, once, before any instance starts."""
        shopdesk = str(ROOT / ".venv" / "bin" / "shopdesk")
        for command in (["db", "upgrade"], ["demo", "seed"]):
            with (self.logs / "prepare.log").open("ab") as out:
                subprocess.run(
                    [shopdesk, *command], cwd=ROOT, env=self.env, stdout=out, stderr=out, check=True
                )

    def _instances(self) -> list[Service]:
        layout, python = self.layout, str(ROOT / ".venv" / "bin" / "python")
        rasa_python = str(ROOT / ".venv-rasa" / "bin" / "python")
        token = self.env["SHOPDESK_RASA_AUTH_TOKEN"]
        services: list[Service] = []
        for number, port in enumerate(layout.action_ports, start=1):
            env = {**self.env, "SHOPDESK_ACTION_SERVER_PORT": str(port)}
            ready = answers_200(f"http://{LOOPBACK}:{port}/health")
            services.append(
                self._service(f"actions{number}", [python, "-m", "bot.action_server"], env, ready)
            )
        for number, port in enumerate(layout.engine_ports, start=1):
            args = [
                *(rasa_python, "-m", "bot.engine.serve", "--model", str(MODEL)),
                *(
                    "--endpoints",
                    str(ENGINE_ENDPOINTS),
                    "--credentials",
                    str(ROOT / "credentials.yml"),
                ),
                *("--interface", LOOPBACK, "--port", str(port), "--enable-api"),
            ]
            ready = has_a_model(f"http://{LOOPBACK}:{port}/status", token)
            services.append(self._service(f"engine{number}", args, self.env, ready))
        for number, port in enumerate(layout.gateway_ports, start=1):
            env = {**self.env, "SHOPDESK_GATEWAY_PORT": str(port)}
            ready = answers_200(f"http://{LOOPBACK}:{port}/healthz")
            services.append(
                self._service(f"gateway{number}", [python, "-m", "bot.web"], env, ready)
            )
        return services

    def _haproxy(self) -> Service:
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        env = {**self.env, **self.layout.haproxy_env()}
        ready = answers_200(self.layout.stats_url)
        return self._service("haproxy", [haproxy, "-db", "-f", str(HAPROXY_CONFIG)], env, ready)

    def _service(
        self, name: str, args: list[str], env: dict[str, str], ready: Readiness
    ) -> Service:
        return Service(name, args, env, self.logs / f"{name}.log", ready, ROOT)
