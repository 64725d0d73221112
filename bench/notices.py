"""How fast the gateway fans an incident notice out on Telegram, and how close that is to
Telegram's limit.

`make bench-notices` writes an outbox of 10,000 Telegram-linked customers (one notice
each, plus a few customers with two updates back to back, to exercise the per-chat
limit), starts the real gateway process against the fake Bot API on 127.0.0.1 at the
real limits (25 messages a second in all, 1 a second per chat), and times the fan-out
from the first notice the fake received to the last. It prints notices per second, the
ratio to 25/s, and the most messages the fake received in any one second, in all and
per chat. At about 22.7/s the 10,000 take some 7.5 minutes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bot.domain.notices import TELEGRAM_MESSAGES_PER_SECOND
from tests.support.fake_telegram import FakeTelegram, SentMessage
from tests.support.notice_fanout import (
    closest_in_a_chat,
    gateway,
    most_in_window,
    notice_states,
    per_second,
    seed_fan_out,
    steady_fake,
    wait_until,
)

TWICE = 20


def _report(sent: list[SentMessage], seconds: float, states: dict[str, int]) -> str:
    rate = per_second(sent)
    closest = closest_in_a_chat(sent)
    most_per_chat = max(
        most_in_window([m.received_at for m in sent if m.chat_id == chat])
        for chat in {m.chat_id for m in sent}
    )
    lines = [
        f"notices sent:             {len(sent):,} in {seconds:.1f} s ({states})",
        f"notices per second:       {rate:.2f}",
        f"of Telegram's 25/s:       {rate / TELEGRAM_MESSAGES_PER_SECOND:.1%}",
        f"most in any 1 s, in all:  {most_in_window([m.received_at for m in sent])}",
        f"most in any 1 s, a chat:  {most_per_chat}",
        "closest two to one chat: "
        + (f" {closest:.3f} s" if closest is not None else " (no chat got two)"),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    if not 1 <= args.customers <= 100_000:
        parser.error("--customers must be 1 to 100,000")
    total = args.customers + 2 * TWICE
    with tempfile.TemporaryDirectory(prefix="shopdesk-bench-notices-") as folder:
        workdir = Path(folder)
        database_url = f"sqlite:///{workdir / 'shopdesk.db'}"
        print(f"writing the outbox: {total:,} notices to {args.customers + TWICE:,} customers")
        seed_fan_out(database_url, customers=args.customers, twice=TWICE)
        with (
            FakeTelegram() as telegram,
            steady_fake(),
            gateway(database_url, telegram, workdir / "gateway.log") as process,
        ):
            started = time.monotonic()
            process.start()
            limit = total / TELEGRAM_MESSAGES_PER_SECOND * 2 + 60
            wait_until(lambda: len(telegram.sent_messages()) >= total, "every notice", limit)
            seconds = time.monotonic() - started
            time.sleep(1)  # the last marks
            states = notice_states(database_url)
            process.terminate()
            print(_report(telegram.sent_messages(), seconds, states))


if __name__ == "__main__":
    main()
