"""`make run-cluster`: starts the cluster, prints its one URL, and keeps it running,
starting again any instance that dies, until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from bot.cluster.cluster import ROOT, Cluster
from bot.cluster.layout import ClusterLayout

WATCH_SECONDS = 2.0
RESTART_AFTER_SECONDS = 3.0


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `make setup`")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs}


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _watch(cluster: Cluster) -> None:
    """Starts again what died, a few seconds after it did (as a service manager would)."""
    dead_since: dict[str, float] = {}
    while True:
        time.sleep(WATCH_SECONDS)
        for name, service in cluster.services.items():
            if service.running:
                dead_since.pop(name, None)
                continue
            since = dead_since.setdefault(name, time.monotonic())
            if time.monotonic() - since >= RESTART_AFTER_SECONDS:
                print(f"{name} stopped; starting it again (its log: {service.log})", flush=True)
                service.start()
                dead_since.pop(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.cluster", description=__doc__)
    parser.add_argument("--folder", type=Path, default=ROOT / "var" / "cluster")
    parser.add_argument("--port", type=int, default=8000, help="the one URL's port")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    layout = ClusterLayout.fixed(args.folder, web_port=args.port)
    cluster = Cluster(layout, secrets=_read_env_file(ROOT / "var" / "secrets.env"))
    signal.signal(signal.SIGTERM, _stop_on_signal)
    print(f"starting the cluster (logs in {cluster.logs}); the engines take a minute or two")
    try:
        cluster.start()
        print(f"\nShopdesk cluster ready: {cluster.url}")
        print(f"  web chat {cluster.url}/   agents' console {cluster.url}/console")
        print(f"  HAProxy's status page {layout.stats_url}")
        print(cluster.status())
        print("Ctrl-C stops it.", flush=True)
        _watch(cluster)
    except KeyboardInterrupt:
        print("\nstopping the cluster")
    except RuntimeError as error:
        print(f"the cluster could not start: {error}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
