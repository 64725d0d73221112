"""How long one customer turn takes on each channel, over the real stack on loopback.

`make bench` starts the engine, the action server and the gateway (with a fake
Telegram Bot API that the gateway polls), then plays the same order-status
conversations on the web chat's WebSocket and on Telegram, and prints the median
and 90th percentile of the time from the customer's message to the bot's first
reply on screen, over 50 turns per channel.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from tests.support.fake_telegram import FakeTelegram
from tests.support.stack import LOOPBACK_CROWD_LIMITS, Stack, running_stack

TURNS_PER_CONVERSATION = 5


def customer_script(order: dict[str, Any]) -> list[str]:
    """Five turns a customer really takes: greet, ask, prove, ask again, leave."""
    return [
        "hi",
        f"where is my order {order['order_number']}?",
        str(order["phone_last4"]),
        "is it late?",
        "thanks, bye",
    ]


def _orders(stack: Stack, count: int) -> Iterator[dict[str, Any]]:
    shipped = [o for o in stack.orders() if o["status"] == "in_transit" and o["tracking_number"]]
    for index in range(count):
        yield shipped[index % len(shipped)]


def web_turns(stack: Stack, turns: int) -> list[float]:
    timings: list[float] = []
    url = stack.gateway_url.replace("http://", "ws://") + "/ws/chat"
    for conversation, order in enumerate(_orders(stack, -(-turns // TURNS_PER_CONVERSATION))):
        with connect(url) as socket:
            socket.send(json.dumps({"type": "hello", "session": None, "last_seen": 0}))
            socket.recv(timeout=30)
            for turn, text in enumerate(customer_script(order)):
                client_id = f"bench-{conversation:04d}-{turn}"
                started = time.perf_counter()
                socket.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
                first_reply: float | None = None
                while True:
                    frame = json.loads(socket.recv(timeout=60))
                    if frame["type"] == "message" and first_reply is None:
                        first_reply = time.perf_counter() - started
                    if frame["type"] == "typing" and not frame["on"]:
                        break
                if first_reply is not None:
                    timings.append(first_reply)
    return timings[:turns]


def telegram_turns(stack: Stack, telegram: FakeTelegram, turns: int) -> list[float]:
    timings: list[float] = []
    for conversation, order in enumerate(_orders(stack, -(-turns // TURNS_PER_CONVERSATION))):
        chat_id = 990_000 + conversation
        seen = 0
        for text in customer_script(order):
            started = time.perf_counter()
            telegram.push_update(telegram.text_update(chat_id, text))
            telegram.wait_for_messages(chat_id, seen + 1, timeout=60)
            timings.append(time.perf_counter() - started)
            time.sleep(0.3)  # let the rest of this turn's replies arrive before the next
            seen = len(telegram.sent_messages(chat_id))
    return timings[:turns]


def _report(name: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    print(
        f"{name:<10} turns={len(ordered):>3}  median={statistics.median(ordered) * 1000:6.0f} ms"
        f"  p90={p90 * 1000:6.0f} ms  max={ordered[-1] * 1000:6.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, FakeTelegram() as telegram:
        env = {
            **LOOPBACK_CROWD_LIMITS,
            "TELEGRAM_TOKEN": telegram.token,
            "TELEGRAM_WEBHOOK_URL": "",
            "SHOPDESK_TELEGRAM_API_URL": telegram.base_url,
        }
        print("starting the stack (engine, actions, gateway, fake Telegram API)...")
        with running_stack(Path(workdir), extra_env=env) as stack:
            web_turns(stack, 5)  # warm-up: the first turns load lazily built parts
            _report("web chat", web_turns(stack, args.turns))
            _report("telegram", telegram_turns(stack, telegram, args.turns))
    print("time from the customer's message to the bot's first reply, loopback, this machine")


if __name__ == "__main__":
    main()
