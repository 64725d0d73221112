from __future__ import annotations

import io

from bot.nlu.progress import ProgressBar, render_bar


def test_the_time_left_follows_the_pace_so_far() -> None:
    line = render_bar(30, 120, 60.0, label="tuning")

    assert line == "tuning [######------------------]  25% about 3 min 00 s left"


def test_start_and_end_say_what_they_know() -> None:
    assert render_bar(0, 10, 0.0, label="t").endswith("0% estimating the time left")
    assert render_bar(10, 10, 75.0, label="t").endswith("100% done in 1 min 15 s")


def test_on_a_pipe_the_bar_writes_its_first_step_then_one_line_per_tenth() -> None:
    out = io.StringIO()
    ticks = iter(range(1000))
    bar = ProgressBar(100, label="t", stream=out, clock=lambda: float(next(ticks)))

    for _ in range(100):
        bar.advance()

    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert "  1% about 1 min 39 s left" in lines[0]
    assert lines[1].startswith("t [##---") and " 10% " in lines[1]
    assert lines[-1].endswith("100% done in 1 min 40 s")
