"""A normal hour, then a surge, with simulated customers and agents over the real stack.

`make bench-surge` starts the engine, the action server and the gateway on loopback (the
seeded demo shop has two active incidents: a Wuhan lockdown and a ZTO Express outage),
creates three agents with the command line and plays:

- customers arriving at random (a Poisson process) on the web chat's WebSocket, each on its
  own thread: 40% ask why their order is late, about an order caught by an active incident
  (they prove it with the phone's last four digits, read the bot's explanation, and half of
  them then ask for a person; offered the incident's note first, half of those still want
  one); 30% ask where their order is (the bot answers); 30% ask for a person at once;
- agents on the console API, each holding up to two chats, with log-normal handling times;
- queued customers waiting up to an exponentially distributed patience, writing now and
  then, then either served to the end (they rate the help) or leaving for the bot.

Time is compressed so the whole bench takes about ten minutes: 1 simulated minute is 2.5
real seconds (24x). The normal hour is 150 real seconds with a customer every 5 s on
average (30 an hour); the surge is 75 real seconds (30 simulated minutes) at ten times that
rate. Handling times (mean 20 s = 8 simulated minutes) and patience (mean 60 s = 24
simulated minutes) are compressed the same way. The gateway estimates waits from the
handling times it measured in the same database, so its announced waits are in the same
compressed time base and are compared with the actual waits directly. Before the measured
phases, six warm-up handoffs give the estimate its first measurements (below five it uses
a configured default of 6 real minutes). Policy settings in whole real minutes (the surge
window, the longest acceptable wait) cannot be compressed; the report says what they did.

Every figure is read back from the gateway's database at the end and printed by
`bench/surge_summary.py`; the customers' own logs add only what the page showed. The
random generator is seeded: the same customers arrive in the same order on every run
(thread timing still varies a little).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.surge_agents import (
    AgentAccount,
    QueueWatcher,
    SimulatedAgent,
    create_agents,
)
from bench.surge_customers import (
    NORMAL,
    SURGE,
    WARMUP,
    CustomerLog,
    CustomerPlan,
    Kind,
    run_customer,
)
from bench.surge_summary import peak_queue, report
from tests.support.stack import LOOPBACK_CROWD_LIMITS, Stack, running_stack


@dataclass(frozen=True)
class Scenario:
    seed: int = 20261122
    seconds_per_sim_minute: float = 2.5
    normal_seconds: float = 150.0
    normal_mean_gap_seconds: float = 5.0
    surge_seconds: float = 75.0
    surge_factor: float = 10.0
    share_delay: float = 0.4
    share_status: float = 0.3  # the rest ask for a person at once
    delay_asks_for_person: float = 0.5
    still_needs_person: float = 0.5
    mean_handling_seconds: float = 20.0
    handling_sigma: float = 0.5
    mean_patience_seconds: float = 60.0
    max_patience_seconds: float = 120.0
    writes_while_waiting: float = 0.3
    writes_to_agent: float = 0.5
    agents: int = 3
    capacity: int = 2
    warmup_handoffs: int = 6
    drain_timeout_seconds: float = 240.0

    def sim_minutes(self, seconds: float) -> float:
        return seconds / self.seconds_per_sim_minute

    def describe(self) -> str:
        s = self
        surge_gap = s.normal_mean_gap_seconds / s.surge_factor
        per_hour = 60 / s.sim_minutes(s.normal_mean_gap_seconds)
        return "\n".join(
            [
                f"time scale: 1 simulated minute = {s.seconds_per_sim_minute} real seconds "
                f"({60 / s.seconds_per_sim_minute:.0f}x compressed)",
                f"normal hour: {s.normal_seconds:.0f} s real ({s.sim_minutes(s.normal_seconds):.0f}"
                f" sim min), a customer every {s.normal_mean_gap_seconds} s on average "
                f"({per_hour:.0f} an hour), Poisson arrivals",
                f"surge: {s.surge_seconds:.0f} s real ({s.sim_minutes(s.surge_seconds):.0f} sim "
                f"min) at {s.surge_factor:.0f}x: a customer every {surge_gap} s on average "
                f"({per_hour * s.surge_factor:.0f} an hour)",
                f"customers: {s.share_delay:.0%} late orders hit by an incident ("
                f"{s.delay_asks_for_person:.0%} then ask for a person, {s.still_needs_person:.0%}"
                f" of those offered the incident note still want one), {s.share_status:.0%} "
                f"order status, {1 - s.share_delay - s.share_status:.0%} ask for a person",
                f"agents: {s.agents}, {s.capacity} chats each; handling log-normal, mean "
                f"{s.mean_handling_seconds:.0f} s ({s.sim_minutes(s.mean_handling_seconds):.0f}"
                f" sim min), sigma {s.handling_sigma}",
                f"patience in the queue: exponential, mean {s.mean_patience_seconds:.0f} s "
                f"({s.sim_minutes(s.mean_patience_seconds):.0f} sim min), at most "
                f"{s.max_patience_seconds:.0f} s",
            ]
        )


class Planner:
    """Draws every customer and every arrival gap from one seeded generator, in order."""

    def __init__(self, scenario: Scenario, orders: Sequence[dict[str, Any]]) -> None:
        self._scenario = scenario
        self._rng = random.Random(scenario.seed)  # noqa: S311 (a simulation, not secrets)
        self._incident_orders = [
            o for o in orders if o["status"] == "in_transit" and o["is_late"] and o["incident_ids"]
        ]
        self._on_time_orders = [
            o
            for o in orders
            if o["status"] == "in_transit" and not o["is_late"] and o["tracking_number"]
        ]
        if not self._incident_orders or not self._on_time_orders:
            raise RuntimeError("the demo shop has no late incident orders or no on-time ones")

    def gap(self, mean_seconds: float) -> float:
        return self._rng.expovariate(1 / mean_seconds)

    def customer(self, phase: str, index: int, kind: Kind | None = None) -> CustomerPlan:
        s, rng = self._scenario, self._rng
        draw = rng.random()
        if kind is None:
            kind = (
                Kind.DELAY
                if draw < s.share_delay
                else Kind.STATUS
                if draw < s.share_delay + s.share_status
                else Kind.PERSON
            )
        order = None
        if kind is Kind.DELAY:
            order = rng.choice(self._incident_orders)
        elif kind is Kind.STATUS:
            order = rng.choice(self._on_time_orders)
        patience = min(rng.expovariate(1 / s.mean_patience_seconds), s.max_patience_seconds)
        writes = rng.random() < s.writes_while_waiting
        return CustomerPlan(
            index=index,
            phase=phase,
            kind=kind,
            order_number=order["order_number"] if order else None,
            proof=order["phone_last4"] if order else None,
            asks_for_person=rng.random() < s.delay_asks_for_person,
            still_needs_person=rng.random() < s.still_needs_person,
            patience_seconds=patience,
            writes_while_waiting_after=rng.uniform(0, patience) if writes else None,
            writes_to_agent=rng.random() < s.writes_to_agent,
            rating=rng.choice([3, 4, 4, 5, 5, 5]),
            rating_as_button=rng.random() < 0.7,
        )


@dataclass
class Crowd:
    """Every customer started so far, with their threads."""

    url: str
    logs: list[CustomerLog]
    threads: list[threading.Thread]

    def start(self, plan: CustomerPlan) -> CustomerLog:
        log = CustomerLog(plan)
        thread = threading.Thread(
            target=run_customer, args=(self.url, log), name=f"customer-{plan.phase}-{plan.index}"
        )
        thread.daemon = True
        thread.start()
        self.logs.append(log)
        self.threads.append(thread)
        return log

    def join(self, timeout: float) -> int:
        """Waits for every customer to finish; returns how many still run after the timeout."""
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return sum(thread.is_alive() for thread in self.threads)


def print_console_view(watcher: QueueWatcher, when: str) -> None:
    queue = watcher.read()
    surge = queue["surge"]
    state = "ACTIVE" if surge["active"] else "not active"
    reasons = "; ".join(surge["reasons"]) or "no reason"
    wait = queue["expected_wait_minutes"]
    print(
        f"[console at {when}] surge {state} ({reasons}); waiting {len(queue['waiting'])}, "
        f"agents available {queue['agents_available']}, expected wait for a new arrival: "
        f"{'none' if wait is None else f'{wait} min (real, rounded up)'}"
    )


def wait_for_agents(watcher: QueueWatcher, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while watcher.read()["agents_available"] < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} agents became available")
        time.sleep(0.2)


def warm_up(scenario: Scenario, planner: Planner, crowd: Crowd) -> list[CustomerLog]:
    """Handoffs served at once, so the wait estimate starts from measured handling times."""
    logs = [
        crowd.start(planner.customer(WARMUP, n, Kind.PERSON))
        for n in range(scenario.warmup_handoffs)
    ]
    deadline = time.monotonic() + 4 * scenario.max_patience_seconds
    for thread in crowd.threads[-len(logs) :]:
        thread.join(max(0.0, deadline - time.monotonic()))
    return logs


def run_phase(
    name: str, seconds: float, mean_gap: float, planner: Planner, crowd: Crowd
) -> tuple[float, float]:
    """Starts customers at Poisson arrivals for `seconds`; returns (start, end) monotonic."""
    start = time.monotonic()
    end = start + seconds
    next_at = start + planner.gap(mean_gap)
    index = 0
    while next_at < end:
        time.sleep(max(0.0, next_at - time.monotonic()))
        crowd.start(planner.customer(name, index))
        index += 1
        next_at += planner.gap(mean_gap)
    time.sleep(max(0.0, end - time.monotonic()))
    print(f"{name}: {index} customers arrived in {time.monotonic() - start:.0f} s")
    return start, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--normal-seconds", type=float, default=Scenario.normal_seconds)
    parser.add_argument("--surge-seconds", type=float, default=Scenario.surge_seconds)
    parser.add_argument("--seed", type=int, default=Scenario.seed)
    args = parser.parse_args()
    scenario = Scenario(
        seed=args.seed, normal_seconds=args.normal_seconds, surge_seconds=args.surge_seconds
    )
    began = time.monotonic()
    print(scenario.describe())
    with tempfile.TemporaryDirectory() as workdir:
        print("starting the stack (engine, actions, gateway)...")
        # 30 s between queue updates would be 12 sim minutes.
        env = {**LOOPBACK_CROWD_LIMITS, "SHOPDESK_QUEUE_UPDATE_SECONDS": "2"}
        with running_stack(Path(workdir), extra_env=env) as stack:
            play(scenario, stack)
    print(f"wall time: {time.monotonic() - began:.0f} s")


def play(scenario: Scenario, stack: Stack) -> None:
    accounts: list[AgentAccount] = create_agents(
        stack.database_url, scenario.agents, scenario.capacity
    )
    agents = [
        SimulatedAgent(
            stack.gateway_url,
            account,
            seed=scenario.seed + n,
            mean_handling_seconds=scenario.mean_handling_seconds,
            handling_sigma=scenario.handling_sigma,
        )
        for n, account in enumerate(accounts, start=1)
    ]
    for agent in agents:
        agent.start()
    watcher = QueueWatcher(stack.gateway_url, accounts[0])
    watcher.start()
    planner = Planner(scenario, stack.orders())
    crowd = Crowd(stack.gateway_url.replace("http://", "ws://") + "/ws/chat", [], [])
    wait_for_agents(watcher, scenario.agents)
    print_console_view(watcher, "warm-up")
    warmups = warm_up(scenario, planner, crowd)
    served = sum(log.rated for log in warmups)
    print(f"warm-up: {served}/{len(warmups)} handoffs served and rated")
    print_console_view(watcher, "start of the normal hour")
    normal = run_phase(
        NORMAL, scenario.normal_seconds, scenario.normal_mean_gap_seconds, planner, crowd
    )
    print_console_view(watcher, "start of the surge")
    surge = run_phase(
        SURGE,
        scenario.surge_seconds,
        scenario.normal_mean_gap_seconds / scenario.surge_factor,
        planner,
        crowd,
    )
    print_console_view(watcher, "end of the surge's arrivals")
    still = crowd.join(scenario.drain_timeout_seconds)
    drained = time.monotonic()
    print(f"every customer done {drained - surge[1]:.0f} s after the surge ({still} still running)")
    for agent in agents:
        agent.stop()
    for agent in agents:
        agent.join(30)
    watcher.stop()
    watcher.join(5)
    print(f"normal: {peak_queue(watcher.samples, *normal)}")
    print(f"surge and after: {peak_queue(watcher.samples, surge[0], drained)}")
    report(stack, crowd.logs, agents, seconds_per_sim_minute=scenario.seconds_per_sim_minute)


if __name__ == "__main__":
    main()
