from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest

from bot.domain.handoff import HandoffPolicy
from bot.domain.waiting import (
    WaitAnnouncement,
    announce_wait,
    erlang_c,
    expected_wait_at_position,
    expected_wait_new_arrival,
    mean_handle_minutes,
    render_wait,
    whole_minutes,
)

POLICY = HandoffPolicy()


def erlang_c_by_definition(servers: int, load: Fraction) -> Fraction:
    """The textbook formula in exact arithmetic, as an independent reference."""
    top = load**servers / math.factorial(servers) * Fraction(servers) / (servers - load)
    return top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)


# --- Erlang C ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("servers", "load", "expected"),
    [
        (1, 0.8, 0.8),  # M/M/1: the probability of waiting is the utilisation
        (2, 1.0, 1 / 3),
        (3, 2.0, 4 / 9),
        (10, 8.0, 0.40918015),
        (55, 48.0, 0.23870094),  # 360 calls per half hour, 4-minute calls, 55 agents
    ],
)
def test_erlang_c_matches_textbook_values(servers, load, expected) -> None:
    assert erlang_c(servers, load) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("servers", [1, 2, 3, 5, 8, 13, 21])
def test_erlang_c_agrees_with_the_definition(servers) -> None:
    for tenths in range(0, servers * 10, 3):
        load = Fraction(tenths, 10)
        exact = float(erlang_c_by_definition(servers, load))
        assert erlang_c(servers, float(load)) == pytest.approx(exact, rel=1e-12, abs=1e-15)


def test_erlang_c_edge_cases() -> None:
    assert erlang_c(5, 0.0) == 0.0
    assert erlang_c(5, 5.0) == 1.0
    assert erlang_c(5, 7.5) == 1.0
    assert erlang_c(0, 0.0) == 1.0


def test_erlang_c_is_stable_for_large_centres() -> None:
    value = erlang_c(1000, 950.0)  # 950**1000 / 1000! overflows a float

    assert 0.0 < value < 1.0
    assert erlang_c(1001, 950.0) < value


@pytest.mark.parametrize(("servers", "load"), [(-1, 1.0), (2, -0.1), (2, math.nan), (2, math.inf)])
def test_erlang_c_rejects_nonsense(servers, load) -> None:
    with pytest.raises(ValueError):
        erlang_c(servers, load)


# --- Expected wait of a new arrival ----------------------------------------------------------


def test_worked_example_two_slots() -> None:
    # One chat every 2 minutes, 2-minute chats, 2 slots: A = 1, C = 1/3, W = (1/3)·2/(2-1).
    for agents, chats in [(2, 1), (1, 2)]:
        wait = expected_wait_new_arrival(
            arrival_rate_per_min=0.5, mean_handle_min=2.0, agents=agents, chats_per_agent=chats
        )
        assert wait == pytest.approx(2 / 3)


def test_one_slot_is_the_mm1_queue() -> None:
    # M/M/1: Wq = ρ / (μ - λ) = 0.8 / (0.5 - 0.4) = 8 minutes.
    wait = expected_wait_new_arrival(
        arrival_rate_per_min=0.4, mean_handle_min=2.0, agents=1, chats_per_agent=1
    )
    assert wait == pytest.approx(8.0)


def test_call_centre_example() -> None:
    # 12 calls a minute, 4 minutes each: 48 erlangs on 55 agents; W = C·4/7 min, about 8.2 s.
    wait = expected_wait_new_arrival(
        arrival_rate_per_min=12.0, mean_handle_min=4.0, agents=55, chats_per_agent=1
    )
    assert wait is not None
    assert wait == pytest.approx(0.23870094 * 4 / 7)
    assert wait * 60 == pytest.approx(8.184, abs=1e-3)


def test_no_traffic_means_no_wait() -> None:
    wait = expected_wait_new_arrival(
        arrival_rate_per_min=0.0, mean_handle_min=5.0, agents=1, chats_per_agent=1
    )
    assert wait == 0.0


def test_more_agents_never_wait_longer() -> None:
    # 3 chats a minute of 6 minutes each is 18 erlangs: stable from 10 agents with 2 chats.
    waits = [
        expected_wait_new_arrival(
            arrival_rate_per_min=3.0, mean_handle_min=6.0, agents=agents, chats_per_agent=2
        )
        for agents in range(8, 30)
    ]
    assert waits[:2] == [None, None]
    finite = [w for w in waits[2:] if w is not None]
    assert len(finite) == 20
    assert all(a > b for a, b in itertools.pairwise(finite))


def test_more_load_always_waits_longer() -> None:
    waits = [
        expected_wait_new_arrival(
            arrival_rate_per_min=rate / 10, mean_handle_min=6.0, agents=5, chats_per_agent=2
        )
        for rate in range(1, 17)
    ]
    finite = [w for w in waits if w is not None]
    assert len(finite) == len(waits)
    assert all(a < b for a, b in itertools.pairwise(finite))
    assert erlang_c(10, 9.9) > erlang_c(10, 9.0) > erlang_c(10, 5.0)


@pytest.mark.parametrize(
    ("rate", "agents", "chats"),
    [
        (2.0, 4, 2),  # A = 8 = c: critically loaded, the queue never settles
        (3.0, 4, 2),  # A = 12 > c = 8
        (0.1, 0, 3),  # nobody online
        (0.1, 3, 0),  # agents who take no chats
    ],
)
def test_unstable_or_unstaffed_queues_have_no_estimate(rate, agents, chats) -> None:
    wait = expected_wait_new_arrival(
        arrival_rate_per_min=rate, mean_handle_min=4.0, agents=agents, chats_per_agent=chats
    )
    assert wait is None


# --- Wait by position ----------------------------------------------------------------------


def position_wait(position: int, *, busy: int, agents: int = 2, chats: int = 2) -> float | None:
    return expected_wait_at_position(
        position=position,
        mean_handle_min=6.0,
        agents=agents,
        chats_per_agent=chats,
        busy_slots=busy,
    )


def test_with_every_slot_busy_each_place_adds_h_over_c() -> None:
    # 4 slots, 6-minute chats: a slot frees every 1.5 minutes on average.
    assert position_wait(1, busy=4) == pytest.approx(1.5)
    assert position_wait(3, busy=4) == pytest.approx(4.5)
    assert position_wait(8, busy=4) == pytest.approx(12.0)


def test_free_slots_serve_the_first_customers_at_once() -> None:
    assert position_wait(1, busy=2) == 0.0
    assert position_wait(2, busy=2) == 0.0
    assert position_wait(3, busy=2) == pytest.approx(1.5)


def test_more_chats_than_slots_counts_as_all_busy() -> None:
    # An agent went offline mid-chat: 5 chats in progress on 4 slots.
    assert position_wait(2, busy=5) == pytest.approx(3.0)


def test_no_agents_no_position_estimate() -> None:
    assert position_wait(1, busy=0, agents=0) is None


def test_position_is_one_based() -> None:
    with pytest.raises(ValueError):
        position_wait(0, busy=4)


# --- Handling times ------------------------------------------------------------------------


def test_few_measurements_fall_back_to_the_default() -> None:
    assert mean_handle_minutes([3.0, 4.0, 5.0, 6.0], default=8.0) == 8.0
    assert mean_handle_minutes([3.0, 4.0, 5.0, 6.0, 7.0], default=8.0) == 5.0


def test_a_forgotten_chat_does_not_skew_the_mean() -> None:
    measured = [5.0] * 9 + [240.0]  # one chat left open for four hours

    assert mean_handle_minutes(measured, default=8.0) == pytest.approx(5.0)


def test_only_recent_and_sensible_measurements_count() -> None:
    old = [30.0] * 100
    recent = [4.0] * 50

    assert mean_handle_minutes(old + recent, default=8.0) == pytest.approx(4.0)
    assert mean_handle_minutes([0.0, -1.0, math.nan, 4.0, 4.0], default=8.0) == 8.0


# --- Announcements -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait", "expected"),
    [(0.0, 0), (0.01, 1), (1.0, 1), (1.2, 2), (4.5, 5), (6.0000000001, 6), (9.99, 10)],
)
def test_waits_round_up_to_whole_minutes(wait, expected) -> None:
    assert whole_minutes(wait) == expected


def test_announcement_flags_waits_beyond_the_policy() -> None:
    within = announce_wait(POLICY, position=3, wait_minutes=9.5, agents_online=2)
    beyond = announce_wait(POLICY, position=7, wait_minutes=10.2, agents_online=2)

    assert within == WaitAnnouncement(position=3, minutes=10, too_long=False, no_agents=False)
    assert beyond == WaitAnnouncement(position=7, minutes=11, too_long=True, no_agents=False)


def test_no_estimate_is_too_long_and_no_agents_overrides_the_model() -> None:
    unknown = announce_wait(POLICY, position=2, wait_minutes=None, agents_online=3)
    nobody = announce_wait(POLICY, position=2, wait_minutes=4.0, agents_online=0)

    assert unknown == WaitAnnouncement(2, None, too_long=True, no_agents=False)
    assert nobody == WaitAnnouncement(2, None, too_long=True, no_agents=True)


def test_rendered_sentences() -> None:
    def say(position: int, wait: float | None, agents: int = 2) -> str:
        return render_wait(
            announce_wait(POLICY, position=position, wait_minutes=wait, agents_online=agents)
        )

    assert say(3, 5.2) == "You're number 3 in the queue. The expected wait is about 6 minutes."
    assert say(1, 0.4) == "You're next in the queue. The expected wait is about 1 minute."
    assert say(1, 0.0) == "You're next in the queue. An agent is free and should join you shortly."
    assert say(25, 37.5) == (
        "You're number 25 in the queue. The expected wait is about 38 minutes. "
        "That's longer than we'd like, sorry. You keep your place in the queue."
    )
    assert say(12, None) == (
        "You're number 12 in the queue. Our agents are busier than usual, so I can't give you "
        "a reliable waiting time right now. You keep your place in the queue."
    )
    assert say(4, 3.0, agents=0) == (
        "You're number 4 in the queue. No agent is available right now, so I can't say how "
        "long the wait will be. You keep your place in the queue."
    )


def test_position_estimate_end_to_end() -> None:
    # 3 agents with 2 chats each, all busy, 7-minute chats, 5th in line: 5·7/6 = 5.83 → 6.
    wait = expected_wait_at_position(
        position=5, mean_handle_min=7.0, agents=3, chats_per_agent=2, busy_slots=6
    )
    announcement = announce_wait(POLICY, position=5, wait_minutes=wait, agents_online=3)

    assert render_wait(announcement) == (
        "You're number 5 in the queue. The expected wait is about 6 minutes."
    )
