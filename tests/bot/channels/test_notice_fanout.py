"""The issue's fan-out: 2,000 Telegram-linked customers in scope, the gateway process
stopped (SIGTERM) halfway and started again; each customer gets exactly one notice, none
is missed, and the fake Bot API's timestamps show Telegram's limits held (25 a second in
all, 1 a second per chat).

At the real 25/s (less the limiter's 10% headroom: 22.7/s) the 2,024 notices take about
90 s of sending, plus two gateway starts.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.notices import STOP_NOTICES, TELEGRAM_MESSAGES_PER_SECOND
from tests.support.fake_telegram import FakeTelegram
from tests.support.notice_fanout import (
    chat_of,
    closest_in_a_chat,
    gateway,
    most_in_window,
    notice_states,
    order_number,
    seed_fan_out,
    steady_fake,
    wait_until,
)

CUSTOMERS = 2000
# uvicorn shuts down gracefully on SIGTERM, then dies of the signal it caught.
GRACEFUL = (0, -signal.SIGTERM)
TWICE = 12  # two updates back to back: the same chats twice within a second of queueing


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def test_a_fan_out_survives_a_restart_with_one_notice_each_within_telegrams_limits(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    database_url = f"sqlite:///{tmp_path / 'shopdesk.db'}"
    seeded = seed_fan_out(database_url, customers=CUSTOMERS, twice=TWICE)
    total = CUSTOMERS + 2 * TWICE

    with steady_fake(), gateway(database_url, telegram, tmp_path / "gateway.log") as process:
        process.start()
        wait_until(lambda: len(telegram.sent_messages()) >= total // 2, "half the notices", 90)
        assert process.terminate() in GRACEFUL
        sent_before_restart = len(telegram.sent_messages())
        states = notice_states(database_url)
        # A graceful stop leaves nothing half done: every send that reached the fake
        # was marked, and the rest wait their turn.
        assert states.get("sending", 0) == 0
        assert states["sent"] == sent_before_restart
        assert sent_before_restart < total

        process.start()
        wait_until(lambda: notice_states(database_url).get("sent") == total, "every notice", 150)
        assert process.terminate() in GRACEFUL

    sent = telegram.sent_messages()
    chats = Counter(message.chat_id for message in sent)
    assert len(sent) == total
    assert {chat_of(customer) for customer in seeded.customers} <= set(chats)
    assert all(chats[chat_of(customer)] == 1 for customer in seeded.customers)
    assert all(chats[chat_of(customer)] == 2 for customer in seeded.twice)
    assert notice_states(database_url) == {"sent": total}

    first = next(m for m in sent if m.chat_id == chat_of(seeded.customers[0]))
    assert order_number(seeded.customers[0]) in first.text
    assert first.reply_markup is not None
    [[button]] = first.reply_markup["inline_keyboard"]
    assert button["text"] == STOP_NOTICES

    assert most_in_window([m.received_at for m in sent]) <= TELEGRAM_MESSAGES_PER_SECOND
    closest = closest_in_a_chat(sent)
    assert closest is not None and closest >= 1.0
    # How close to the limit it sends is a figure for `make bench-notices`, not a timing
    # assert here: on a slow machine it once sent at 19.7/s, and the test failed for it.
