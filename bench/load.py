"""`make bench-load`: turns per second and latency, Shopdesk beside stock Rasa, in one run.

1. Stock Rasa 3.6 as a user starts it: `rasa init` in a temporary folder with the
   project's own Rasa install (its default config, REST channel), then `rasa run`;
   five-turn moodbot conversations.
2. Shopdesk as `make run` starts it (engine, action server, gateway on SQLite), five-turn
   verified order-status conversations (bench/channel_turns.py's script) over varied demo
   orders, through the HTTP chat API.
3. The same conversations through the web chat's WebSocket.
4. The same HTTP conversations on the cluster (`make run-cluster`: PostgreSQL, Redis, two
   engines, two action servers, two gateways behind HAProxy), on the same machine. On two
   cores it cannot beat one instance; the row shows what its locks, events, load
   balancer and PostgreSQL cost per turn.

For 1, 10, 20 and 50 closed-loop clients (in a process of their own, bench/load_clients.py)
it prints turns per second, p50/p95/p99 latency and the turns that failed, and the ratio
of Shopdesk's HTTP turns per second to stock Rasa's. Loopback only; every run is bounded.
The gateway's per-client limits are lifted (all clients share 127.0.0.1 here, where real
customers would come from many addresses).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from secrets import token_urlsafe

import httpx

from bot.cluster.cluster import SECRET_NAMES, Cluster
from bot.cluster.layout import ClusterLayout
from bot.demo.listing import demo_orders
from tests.support.ports import free_port
from tests.support.stack import LOOPBACK_CROWD_LIMITS, running_stack

ROOT = Path(__file__).resolve().parents[1]
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
CLIENT_COUNTS = (1, 10, 20, 50)


@dataclass(frozen=True)
class Row:
    target: str
    clients: int
    turns: int
    seconds: float
    p50: float
    p95: float
    p99: float
    failed: int

    @property
    def per_second(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(round(share * len(ordered) + 0.5) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


CLIENT_KINDS = {
    "stock rasa": "rasa",
    "shopdesk http": "http",
    "shopdesk ws": "ws",
    "cluster http": "http",
}


def measure(target: str, url: str, clients: int, seconds: float, orders: str = "") -> Row:
    """Runs the clients in their own process and summarises what they saw."""
    kind = CLIENT_KINDS[target]
    command = [
        sys.executable, "-m", "bench.load_clients", f"--target={kind}", f"--url={url}",
        f"--clients={clients}", f"--seconds={seconds}", f"--orders={orders}",
    ]  # fmt: skip
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=seconds + 120
    )
    figures = json.loads(done.stdout)
    latencies = figures["latencies"]
    return Row(
        target,
        clients,
        len(latencies),
        figures["seconds"],
        percentile(latencies, 0.50),
        percentile(latencies, 0.95),
        percentile(latencies, 0.99),
        figures["failed"],
    )


@contextmanager
def stock_rasa(workdir: Path) -> Iterator[str]:
    """`rasa init` (which trains the moodbot), then `rasa run` with its REST channel."""
    project = workdir / "moodbot"
    project.mkdir()  # `rasa init --init-dir` wants the folder to exist
    subprocess.run(  # noqa: S603 - the project's own Rasa
        [str(RASA), "init", "--no-prompt", "--init-dir", str(project)],
        cwd=workdir, check=True, capture_output=True, timeout=1800,
    )  # fmt: skip
    port = free_port()
    log = (workdir / "rasa.log").open("wb")
    process = subprocess.Popen(  # noqa: S603
        [str(RASA), "run", "--enable-api", "--port", str(port), "--interface", "127.0.0.1"],
        cwd=project, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"stock Rasa exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/status", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("stock Rasa did not become ready")


def measure_cluster(folder: Path, clients: Sequence[int], seconds: float) -> list[Row]:
    folder.mkdir()
    secrets = {name: token_urlsafe(24) for name in SECRET_NAMES}
    cluster = Cluster(
        ClusterLayout.on_free_ports(folder), secrets=secrets, env=dict(LOOPBACK_CROWD_LIMITS)
    )
    try:
        cluster.start()
        shipped = [
            {"order_number": o["order_number"], "phone_last4": o["phone_last4"]}
            for o in demo_orders(cluster.layout.database_url("demo_shop"))
            if o["status"] == "in_transit" and o["tracking_number"]
        ]
        orders = json.dumps(shipped)
        return [measure("cluster http", cluster.url, n, seconds, orders) for n in clients]
    finally:
        cluster.stop()
        shutil.rmtree(cluster.postgres.data, ignore_errors=True)


def machine() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load} before the run"


def print_table(rows: Sequence[Row]) -> None:
    print(f"{'target':<14} {'clients':>7} {'turns/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'failed':>6}")  # fmt: skip
    for row in rows:
        print(
            f"{row.target:<14} {row.clients:>7} {row.per_second:>8.1f} {row.p50 * 1000:>7.0f} "
            f"{row.p95 * 1000:>7.0f} {row.p99 * 1000:>7.0f} {row.failed:>6}"
        )
    stock = {row.clients: row.per_second for row in rows if row.target == "stock rasa"}
    for row in rows:
        if row.target == "shopdesk http" and stock.get(row.clients):
            ratio = row.per_second / stock[row.clients]
            print(f"shopdesk http / stock rasa at {row.clients} clients: {ratio:.2f}x")
    single = {row.clients: row for row in rows if row.target == "shopdesk http"}
    for row in rows:
        alone = single.get(row.clients)
        if row.target == "cluster http" and alone is not None and alone.per_second:
            print(
                f"cluster / one instance at {row.clients} clients: "
                f"{row.per_second / alone.per_second:.2f}x turns/s, "
                f"p50 {1000 * (row.p50 - alone.p50):+.0f} ms"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="per client count")
    parser.add_argument("--clients", type=int, nargs="*", default=list(CLIENT_COUNTS))
    parser.add_argument("--skip-stock", action="store_true", help="Shopdesk only")
    parser.add_argument("--skip-cluster", action="store_true", help="one instance only")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}", flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="shopdesk-bench-load-") as tmp:
        workdir = Path(tmp)
        if not args.skip_stock:
            print("Training and starting stock Rasa's moodbot (rasa init)...", flush=True)
            with stock_rasa(workdir) as url:
                rows += [measure("stock rasa", url, n, args.seconds) for n in args.clients]
        stack_dir = workdir / "shopdesk"
        stack_dir.mkdir()
        with running_stack(stack_dir, extra_env=dict(LOOPBACK_CROWD_LIMITS)) as stack:
            shipped = [
                {"order_number": o["order_number"], "phone_last4": o["phone_last4"]}
                for o in stack.orders()
                if o["status"] == "in_transit" and o["tracking_number"]
            ]
            orders = json.dumps(shipped)
            ws_url = stack.gateway_url.replace("http://", "ws://") + "/ws/chat"
            for n in args.clients:
                rows.append(measure("shopdesk http", stack.gateway_url, n, args.seconds, orders))
            for n in args.clients:
                rows.append(measure("shopdesk ws", ws_url, n, args.seconds, orders))
        if not args.skip_cluster:
            print("Starting the cluster (PostgreSQL, Redis, 2 x 3 processes, HAProxy)...")
            rows += measure_cluster(workdir / "cluster", args.clients, args.seconds)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
