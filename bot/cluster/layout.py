"""Where each process of the cluster listens, and the settings each one is started with.

Everything that tells one instance from another is here: a shop deploying on several
machines sets the same variables, with its hosts instead of 127.0.0.1.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

INSTANCES = 2
LOOPBACK = "127.0.0.1"
# Connections per process to PostgreSQL (docs/scaling.md has the sums): the server
# allows MAX_CONNECTIONS, and the cluster's processes use at most 110 of them.
MAX_CONNECTIONS = 200
ENGINE_POOL = {"SQL_POOL_SIZE": "5", "SQL_MAX_OVERFLOW": "5"}  # Rasa's: 50 + 100 by default


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ClusterLayout:
    folder: Path  # data, logs and the generated settings; kept between runs
    web_port: int  # the one URL
    engines_port: int
    actions_port: int
    stats_port: int
    postgres_port: int
    redis_port: int
    gateway_ports: tuple[int, ...]
    engine_ports: tuple[int, ...]
    action_ports: tuple[int, ...]

    @classmethod
    def fixed(cls, folder: Path, *, web_port: int = 8000) -> ClusterLayout:
        """`make run-cluster`'s ports: the web chat where `make run` has it."""
        return cls(
            folder=folder,
            web_port=web_port,
            engines_port=5100,
            actions_port=5150,
            stats_port=8404,
            postgres_port=55432,
            redis_port=56379,
            gateway_ports=(8101, 8102),
            engine_ports=(5105, 5106),
            action_ports=(5155, 5156),
        )

    @classmethod
    def on_free_ports(cls, folder: Path) -> ClusterLayout:
        """For tests: every port free at the time of asking."""
        return cls(
            folder=folder,
            web_port=_free_port(),
            engines_port=_free_port(),
            actions_port=_free_port(),
            stats_port=_free_port(),
            postgres_port=_free_port(),
            redis_port=_free_port(),
            gateway_ports=tuple(_free_port() for _ in range(INSTANCES)),
            engine_ports=tuple(_free_port() for _ in range(INSTANCES)),
            action_ports=tuple(_free_port() for _ in range(INSTANCES)),
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.web_port}"

    @property
    def stats_url(self) -> str:
        return f"http://{LOOPBACK}:{self.stats_port}/"

    def database_url(self, database: str, *, driver: str = "psycopg") -> str:
        return f"postgresql+{driver}://postgres@{LOOPBACK}:{self.postgres_port}/{database}"

    @property
    def redis_url(self) -> str:
        return f"redis://{LOOPBACK}:{self.redis_port}/0"

    def shared_env(self) -> dict[str, str]:
        """What every Shopdesk process of the cluster is given (secrets aside)."""
        return {
            "DATABASE_URL": self.database_url("shopdesk"),
            "SHOPDESK_SHOP_DATABASE_URL": self.database_url("demo_shop"),
            # The engines' Python 3.10 has psycopg2, Rasa's own PostgreSQL driver.
            "SHOPDESK_TRACKER_DATABASE_URL": self.database_url("rasa_tracker", driver="psycopg2"),
            "SHOPDESK_REDIS_URL": self.redis_url,
            "SHOPDESK_RASA_URL": f"http://{LOOPBACK}:{self.engines_port}",
            "SHOPDESK_ACTION_SERVER_URL": f"http://{LOOPBACK}:{self.actions_port}/webhook",
            # Where gateways check that actions answer before replaying kept messages (the
            # balancer); each action server is given its own port instead.
            "SHOPDESK_ACTION_SERVER_HOST": LOOPBACK,
            "SHOPDESK_ACTION_SERVER_PORT": str(self.actions_port),
            "SHOPDESK_TRUSTED_PROXIES": LOOPBACK,
            **ENGINE_POOL,
        }

    def haproxy_env(self) -> dict[str, str]:
        """The addresses deploy/haproxy.cfg reads."""
        at = {
            "SHOPDESK_LB_WEB": f"{LOOPBACK}:{self.web_port}",
            "SHOPDESK_LB_ENGINES": f"{LOOPBACK}:{self.engines_port}",
            "SHOPDESK_LB_ACTIONS": f"{LOOPBACK}:{self.actions_port}",
            "SHOPDESK_LB_STATS": f"{LOOPBACK}:{self.stats_port}",
        }
        for kind, ports in (
            ("GATEWAY", self.gateway_ports),
            ("ENGINE", self.engine_ports),
            ("ACTIONS", self.action_ports),
        ):
            for number, port in enumerate(ports, start=1):
                at[f"SHOPDESK_{kind}_{number}"] = f"{LOOPBACK}:{port}"
        return at
