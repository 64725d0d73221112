"""How long a customer waiting for a person will wait, and how the bot says so honestly.

Agents each hold several chats at once, so the queue is served by agents × chats-per-agent
"slots". Two estimates, for two situations:

- before joining (or to size staffing): the Erlang C model of an M/M/c queue, which needs the
  arrival rate and gives the average wait of a new arrival in steady state;
- once in the queue: the customer's position. With every slot busy and exponential handling
  times, slots free up one at a time at rate c/h, so the customer at position p waits p·h/c
  on average. This uses what we know about them (how many are ahead) instead of an average
  over everyone, and needs no arrival rate.

The bot rounds up, says "about", and says plainly when it cannot estimate at all.
`docs/handoff-model.md` has the reasoning and the formulas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.handoff import HandoffPolicy

RECENT_HANDLE_TIMES = 50
MIN_HANDLE_SAMPLES = 5
HANDLE_TRIM_FRACTION = 0.1


def chat_slots(agents: int, chats_per_agent: int) -> int:
    """The servers of the queueing model: each concurrent chat an agent may hold is one."""
    if agents < 0 or chats_per_agent < 0:
        raise ValueError("agents and chats_per_agent cannot be negative")
    return agents * chats_per_agent


def erlang_c(servers: int, offered_load: float) -> float:
    """The probability that an arrival has to wait, in an M/M/c queue with c = servers.

    Computed through the Erlang B recursion B(0) = 1, B(k) = A·B(k-1) / (k + A·B(k-1)) and
    C = c·B / (c - A·(1 - B)): every step stays between 0 and 1, so it neither overflows
    (A^c / c! does for c in the hundreds) nor loses precision. With A >= c the queue grows
    without bound and every arrival waits: 1.0.
    """
    if servers < 0:
        raise ValueError("servers cannot be negative")
    if not math.isfinite(offered_load) or offered_load < 0:
        raise ValueError("offered_load must be a finite, non-negative number")
    if offered_load >= servers:
        return 1.0
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return servers * blocking / (servers - offered_load * (1 - blocking))


def expected_wait_new_arrival(
    *,
    arrival_rate_per_min: float,
    mean_handle_min: float,
    agents: int,
    chats_per_agent: int,
) -> float | None:
    """Mean wait in minutes of a new arrival: W = C(c, A)·h / (c - A), with A = λ·h.

    None when no slot exists or A >= c: then there is no steady state and any finite number
    would be a made-up promise.
    """
    if arrival_rate_per_min < 0 or mean_handle_min <= 0:
        raise ValueError("arrival rate cannot be negative and handling time must be positive")
    servers = chat_slots(agents, chats_per_agent)
    load = arrival_rate_per_min * mean_handle_min
    if servers == 0 or load >= servers:
        return None
    return erlang_c(servers, load) * mean_handle_min / (servers - load)


def expected_wait_at_position(
    *,
    position: int,
    mean_handle_min: float,
    agents: int,
    chats_per_agent: int,
    busy_slots: int,
) -> float | None:
    """Mean wait in minutes of the customer at 1-based `position` in the queue.

    Free slots take the first customers at once. Everyone else waits for slots to free up;
    with all c busy, handling ends at rate c/h (exponential handling times are memoryless, so
    how long the current chats have run does not matter), and this customer needs
    position - free of those endings: (position - free)·h / c. It assumes nobody ahead gives
    up (which would shorten the wait) and nobody jumps ahead (which would lengthen it), so it
    is re-announced whenever the position changes. None when no slot exists at all.
    """
    if position < 1:
        raise ValueError("position is 1-based")
    if busy_slots < 0 or mean_handle_min <= 0:
        raise ValueError("busy_slots cannot be negative and handling time must be positive")
    servers = chat_slots(agents, chats_per_agent)
    if servers == 0:
        return None
    free = max(0, servers - busy_slots)
    if position <= free:
        return 0.0
    return (position - free) * mean_handle_min / servers


def mean_handle_minutes(
    measured: Sequence[float],
    *,
    default: float,
    recent: int = RECENT_HANDLE_TIMES,
    min_samples: int = MIN_HANDLE_SAMPLES,
) -> float:
    """A 10% trimmed mean of the latest `recent` handling times, or `default` below `min_samples`.

    `measured` runs oldest first, in minutes from an agent taking a chat to closing it, so it
    already includes the slowdown of holding several chats at once. The model needs a mean,
    not a median (handling times are skewed right: the median would promise too little), but
    one chat an agent forgot to close must not double the estimate: trimming the top and
    bottom 10% keeps the mean honest. Nonsense values (zero, negative, NaN) are dropped.
    """
    if default <= 0:
        raise ValueError("default handling time must be positive")
    valid = [m for m in measured if math.isfinite(m) and m > 0][-recent:]
    if len(valid) < min_samples:
        return default
    ordered = sorted(valid)
    cut = int(len(ordered) * HANDLE_TRIM_FRACTION)
    kept = ordered[cut : len(ordered) - cut]
    return sum(kept) / len(kept)


@dataclass(frozen=True)
class WaitAnnouncement:
    position: int
    minutes: int | None
    too_long: bool
    no_agents: bool


def whole_minutes(wait_minutes: float) -> int:
    """Round up: a customer told "about 2 minutes" who waits 2.4 feels misled; one who waits
    1.6 does not. Any wait at all is at least 1 minute. The rounding before the ceiling stops
    float noise (6.0000000001) from adding a minute."""
    if wait_minutes <= 0:
        return 0
    return max(1, math.ceil(round(wait_minutes, 6)))


def announce_wait(
    policy: HandoffPolicy, *, position: int, wait_minutes: float | None, agents_online: int
) -> WaitAnnouncement:
    """No agent online means no estimate, whatever a model says."""
    if position < 1:
        raise ValueError("position is 1-based")
    no_agents = agents_online <= 0
    minutes = None if no_agents or wait_minutes is None else whole_minutes(wait_minutes)
    too_long = minutes is None or minutes > policy.max_acceptable_wait_minutes
    return WaitAnnouncement(position, minutes, too_long, no_agents)


def _minutes(n: int) -> str:
    return "1 minute" if n == 1 else f"{n} minutes"


KEEP_PLACE = "You keep your place in the queue."


def render_wait(announcement: WaitAnnouncement) -> str:
    """Only what the numbers support: "about" a rounded-up mean, never "within" or "at most"."""
    if announcement.position == 1:
        lines = ["You're next in the queue."]
    else:
        lines = [f"You're number {announcement.position} in the queue."]
    minutes = announcement.minutes
    if announcement.no_agents:
        lines.append("No agent is available right now, so I can't say how long the wait will be.")
    elif minutes is None:
        lines.append(
            "Our agents are busier than usual, so I can't give you a reliable waiting time "
            "right now."
        )
    elif minutes == 0:
        lines.append("An agent is free and should join you shortly.")
    else:
        lines.append(f"The expected wait is about {_minutes(minutes)}.")
    if announcement.too_long:
        if minutes is not None:
            lines.append("That's longer than we'd like, sorry.")
        lines.append(KEEP_PLACE)
    return " ".join(lines)
