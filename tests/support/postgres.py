"""A throwaway PostgreSQL server on loopback, from Debian's packages.

PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` user that the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tests.support.ports import free_port


def _pg_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed; run `make setup`")
    return found


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _scratch_parent() -> str | None:
    """Memory (tmpfs) when it has room, else the usual temporary folder: the suite creates
    a database per test, and copying the template is three times faster in memory."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 2 * 1024**3:
        return str(shm)
    return None


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yields a SQLAlchemy URL for database `shopdesk_test` on a fresh server."""
    root = Path(tempfile.mkdtemp(prefix="shopdesk-pg-", dir=_scratch_parent()))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(
            [_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        _as_postgres(
            [
                _pg_bin("postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                [_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("PostgreSQL did not start")
            time.sleep(0.2)
        subprocess.run(
            [
                _pg_bin("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "shopdesk_test",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/shopdesk_test"
    finally:
        # A fast shutdown ends the clients' sessions and cleans up after itself; a kill
        # (runuser's own answer to SIGTERM after two seconds) leaves shared memory behind.
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w"]),
            capture_output=True,
            timeout=60,
        )
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def _run_on_server(server_url: str, statement: str) -> None:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(statement))
    finally:
        admin.dispose()


def create_database(server_url: str, name: str) -> str:
    """A new empty database on the server of `server_url`; returns its URL."""
    _run_on_server(server_url, f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(server_url: str, name: str) -> None:
    """FORCE: a connection a test left open (a pool not disposed) must not keep it."""
    _run_on_server(server_url, f'DROP DATABASE "{name}" WITH (FORCE)')
