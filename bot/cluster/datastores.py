"""PostgreSQL and Redis for the cluster, from Debian's packages, on loopback.

PostgreSQL refuses to run as root; as root its data lives in the home of the
`postgres` user the package creates (var/ is private to its owner) and the server
runs as that user. Its data is kept between runs; Redis keeps nothing (locks and
events are worth nothing after a restart).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa

from bot.cluster.layout import LOOPBACK, MAX_CONNECTIONS

DATABASES = ("shopdesk", "demo_shop", "rasa_tracker")
POSTGRES_HOME = Path("/var/lib/postgresql")
START_SECONDS = 60.0


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed; run `make setup`")
    return found[0]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PostgresServer:
    def __init__(self, *, folder: Path, port: int, log: Path) -> None:
        self.port = port
        self._log = log
        root = POSTGRES_HOME / "shopdesk-cluster" if os.geteuid() == 0 else folder / "postgres"
        self.data = root / str(port)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self._init()
        with self._log.open("ab") as out:
            self._process = subprocess.Popen(
                _as_postgres(
                    [
                        *(_pg_bin("postgres"), "-D", str(self.data), "-p", str(self.port)),
                        *("-k", str(self.data), "-c", f"listen_addresses={LOOPBACK}"),
                        *("-c", f"max_connections={MAX_CONNECTIONS}"),
                    ]
                ),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def create_databases(self) -> None:
        admin = sa.create_engine(
            f"postgresql+psycopg://postgres@{LOOPBACK}:{self.port}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        try:
            with admin.connect() as connection:
                present = set(
                    connection.execute(sa.text("SELECT datname FROM pg_database")).scalars()
                )
                for name in DATABASES:
                    if name not in present:
                        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()

    def stop(self) -> None:
        """A fast shutdown: clients are disconnected, nothing committed is lost."""
        if self._process is None:
            return
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w"]),
            capture_output=True,
            timeout=60,
        )
        if self._process.poll() is None:
            self._process.terminate()
        self._process.wait(timeout=30)
        self._process = None

    def _init(self) -> None:
        self.data.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_SECONDS
        while True:
            ready = subprocess.run(
                [_pg_bin("pg_isready"), "-h", LOOPBACK, "-p", str(self.port)], capture_output=True
            )
            if ready.returncode == 0:
                return
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; see {self._log}")
            time.sleep(0.2)


class RedisServer:
    def __init__(self, *, folder: Path, port: int, log: Path) -> None:
        self.port = port
        self._folder = folder
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        redis = shutil.which("redis-server") or "/usr/bin/redis-server"
        with self._log.open("ab") as out:
            self._process = subprocess.Popen(
                [
                    *(redis, "--bind", LOOPBACK, "--port", str(self.port)),
                    *("--dir", str(self._folder), "--save", "", "--appendonly", "no"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_SECONDS
        while not self.answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {self._log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            self._process.wait(timeout=15)
        self._process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False
