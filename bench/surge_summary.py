"""What `make bench-surge` prints at the end: the figures, then what went wrong, if anything.

The figures come from `bench/surge_report.py` (read back from the gateway's database);
this module adds the queue the console showed, the agents' counts, the processes' logs
and the customers who were left stuck.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.surge_agents import QueueSample, SimulatedAgent
from bench.surge_customers import NORMAL, SURGE, WARMUP, CustomerLog
from bench.surge_report import (
    Figures,
    Report,
    check_messages,
    figures,
    print_by_kind,
    read_handoffs,
    wait_until_answered,
)
from tests.support.stack import Stack


def surge_reasons(samples: Sequence[QueueSample]) -> str:
    """The reasons the console gave; the numeric ones ("arrival rate 4.2x normal",
    "queue of 25") as the range they took."""
    plain: set[str] = set()
    ranges: dict[str, list[float]] = {}
    for sample in samples:
        for reason in sample.surge_reasons:
            if reason.startswith("arrival rate"):
                ranges.setdefault("arrival rate {}x normal", []).append(
                    float(reason.split()[2].rstrip("x"))
                )
            elif reason.startswith("queue of"):
                ranges.setdefault("queue of {}", []).append(float(reason.split()[2]))
            else:
                plain.add(reason)
    described = sorted(plain) + [
        pattern.format(f"{min(values):g} to {max(values):g}") for pattern, values in ranges.items()
    ]
    return "; ".join(described) or "no reason"


def peak_queue(samples: Sequence[QueueSample], start: float, end: float) -> str:
    inside = [s for s in samples if start <= s.at < end]
    if not inside:
        return "-"
    active = sum(s.surge_active for s in inside)
    return (
        f"peak queue {max(s.waiting for s in inside)}; the console flagged a surge in "
        f"{active}/{len(inside)} samples ({surge_reasons(inside)})"
    )


def print_agents(agents: Sequence[SimulatedAgent]) -> None:
    taken_by: dict[int, int] = {}
    for agent in agents:
        for handoff_id in agent.stats.taken:
            taken_by[handoff_id] = taken_by.get(handoff_id, 0) + 1
        errors = agent.stats.http_errors
        print(
            f"{agent.account.display_name}: took {agent.stats.takes}, closed {agent.stats.closes}, "
            f"409 on take {agent.stats.conflicts}, errors {len(errors)}"
            + (f" (first: {errors[0]})" if errors else "")
        )
    doubles = [h for h, count in taken_by.items() if count > 1]
    print(f"conversations taken by two agents at once: {len(doubles)}")


def print_log_errors(logs: Path) -> None:
    """Tracebacks and errors the three processes logged during the bench."""
    counts = []
    for log in sorted(logs.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        errors = sum(1 for line in lines if "Traceback" in line or " ERROR " in line)
        counts.append(f"{log.stem} {errors}")
    print("errors in the processes' logs: " + ", ".join(counts))


def print_stuck(logs: Sequence[CustomerLog]) -> None:
    stuck = [log for log in logs if log.stuck is not None]
    for log in stuck[:10]:
        print(f"  stuck: {log.tag} ({log.plan.kind}): {log.stuck}")
    if len(stuck) > 10:
        print(f"  ... and {len(stuck) - 10} more")


def report(
    stack: Stack,
    logs: Sequence[CustomerLog],
    agents: list[SimulatedAgent],
    *,
    seconds_per_sim_minute: float,
) -> None:
    """Everything the bench measured, from the database first, then the simulators' logs."""
    measured = [log for log in logs if log.plan.phase != WARMUP]
    left = wait_until_answered(stack.database_url, logs, timeout=30)
    handoffs = read_handoffs(stack.database_url, measured)
    columns: dict[str, Figures] = {
        NORMAL: figures([log for log in measured if log.plan.phase == NORMAL], handoffs),
        SURGE: figures([log for log in measured if log.plan.phase == SURGE], handoffs),
        "overall": figures(measured, handoffs),
    }
    Report(columns, seconds_per_sim_minute).print()
    print_by_kind(
        {phase: [log for log in measured if log.plan.phase == phase] for phase in (NORMAL, SURGE)},
        handoffs,
        seconds_per_sim_minute,
    )
    check = check_messages(stack.database_url, logs)
    print(
        f"\nmessages lost: {check.lost} (customer messages sent {check.sent}, warm-up included: "
        f"not stored {check.missing}, stored twice {check.duplicated}, never answered {left})"
    )
    print(
        f"not acknowledged to the page: {check.not_acknowledged}; replies made while the page "
        f"was open but never confirmed delivered: {check.replies_not_delivered}"
    )
    print_agents(agents)
    print_log_errors(stack.logs)
    print_stuck(logs)
    print(
        "\nwait = assigned_at - enqueued_at in the database, for customers an agent took.\n"
        "announced = the model's unrounded estimate stored when the customer was queued\n"
        "(handoffs.announced_wait_minutes, real minutes; the customer read it rounded up).\n"
        "within tolerance: |actual - announced| <= max(50% of announced, 1 sim minute = "
        f"{seconds_per_sim_minute} s);\n"
        "waited longer than announced: actual > announced + that tolerance.\n"
        "abandoned = state 'left' (the customer chose \"Carry on with the bot\") among the queued."
    )
    print(
        "not compressed (settings in real minutes): the surge window (15 min, longer than the\n"
        "whole bench), the normal-rate baseline (12 contacts an hour until a day of history),\n"
        "the longest acceptable wait (10 min: never reached, so the queue's choices were not\n"
        "offered) and the priority head starts (a verified incident customer starts 20 to 30\n"
        "min ahead of an unverified one, so here it is always served first)."
    )
