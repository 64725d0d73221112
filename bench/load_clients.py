"""Closed-loop chat clients for `make bench-load`, run in a process of their own.

Each client holds one conversation at a time and sends its next message only when the
previous one is answered (a closed loop: a slow server gets fewer requests, as with
real customers). Every turn's latency is recorded; a turn that errs, times out or gets
no reply counts as failed. The figures go to stdout as one JSON object.

    python -m bench.load_clients --target rasa|http|ws --url URL --clients N --seconds S
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from bench.channel_turns import customer_script

TURN_TIMEOUT = 30.0
MOODBOT_TURNS = ("hello", "I am feeling sad", "yes", "great, thanks", "bye")


@dataclass
class Tally:
    """What the clients saw: per-turn latencies in seconds, and the turns that failed."""

    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def fail(self, why: str) -> None:
        self.failed += 1
        self.errors[why] = self.errors.get(why, 0) + 1


async def _timed(tally: Tally, call: Any) -> None:
    started = time.perf_counter()
    try:
        replied = await asyncio.wait_for(call, TURN_TIMEOUT)
    except TimeoutError:
        tally.fail("timeout")
        return
    except (httpx.HTTPError, websockets.WebSocketException, OSError) as error:
        tally.fail(type(error).__name__)
        return
    if replied:
        tally.latencies.append(time.perf_counter() - started)
    else:
        tally.fail("no reply")


async def _rasa_turn(http: httpx.AsyncClient, sender: str, text: str) -> bool:
    response = await http.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
    return response.status_code == 200 and bool(response.json())


async def _http_turn(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], text: str
) -> bool:
    response = await http.post(path, json={"text": text}, headers=headers)
    return response.status_code == 200 and bool(response.json()["messages"])


async def _ws_turn(socket: Any, text: str) -> bool:
    """Sent, acknowledged and answered: the turn ends when "typing" goes off after the
    ack, which the gateway sends once every reply of the turn is out."""
    client_id = uuid.uuid4().hex
    await socket.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
    acked = answered = False
    while True:
        got = json.loads(await socket.recv())
        if got["type"] == "ack" and got["client_id"] == client_id:
            acked = True
        elif got["type"] == "message" and acked and got["message"]["sender"] in ("bot", "system"):
            answered = True
        elif got["type"] == "typing" and not got["on"] and acked:
            return answered
        elif got["type"] == "error":
            return False


async def rasa_client(url: str, deadline: float, tally: Tally) -> None:
    """Stock Rasa's REST channel: POST /webhooks/rest/webhook, the answer in the response."""
    async with httpx.AsyncClient(base_url=url, timeout=TURN_TIMEOUT) as http:
        while time.monotonic() < deadline:
            sender = uuid.uuid4().hex
            for text in MOODBOT_TURNS:
                await _timed(tally, _rasa_turn(http, sender, text))


async def http_client(
    url: str, deadline: float, tally: Tally, orders: Sequence[dict[str, Any]], first: int
) -> None:
    """Shopdesk's HTTP chat API: one conversation per loop, over varied demo orders."""
    async with httpx.AsyncClient(base_url=url, timeout=TURN_TIMEOUT) as http:
        index = first
        while time.monotonic() < deadline:
            created = await http.post("/api/conversations")
            if created.status_code != 201:
                tally.fail(f"create {created.status_code}")
                await asyncio.sleep(0.5)
                continue
            conversation, token = created.json()["id"], created.json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            for text in customer_script(orders[index % len(orders)]):
                path = f"/api/conversations/{conversation}/messages"
                await _timed(tally, _http_turn(http, path, headers, text))
            index += 1


async def ws_client(
    url: str, deadline: float, tally: Tally, orders: Sequence[dict[str, Any]], first: int
) -> None:
    """The web chat's socket: a turn ends with the first bot message after the ack."""
    index = first
    while time.monotonic() < deadline:
        async with websockets.connect(url, max_size=2**20) as socket:
            await socket.send(json.dumps({"type": "hello", "session": None, "last_seen": 0}))
            while json.loads(await socket.recv())["type"] != "welcome":
                pass
            for text in customer_script(orders[index % len(orders)]):
                await _timed(tally, _ws_turn(socket, text))
        index += 1


async def run(args: argparse.Namespace) -> Tally:
    tally = Tally()
    orders = json.loads(args.orders) if args.orders else []
    deadline = time.monotonic() + args.seconds
    if args.target == "rasa":
        clients = [rasa_client(args.url, deadline, tally) for _ in range(args.clients)]
    elif args.target == "http":
        clients = [http_client(args.url, deadline, tally, orders, i) for i in range(args.clients)]
    else:
        clients = [ws_client(args.url, deadline, tally, orders, i) for i in range(args.clients)]
    await asyncio.gather(*clients)
    return tally


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", choices=("rasa", "http", "ws"), required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--orders", default="", help="JSON list of demo orders (http, ws)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    tally = asyncio.run(run(args))
    json.dump(
        {
            "latencies": tally.latencies,
            "failed": tally.failed,
            "errors": tally.errors,
            "seconds": time.monotonic() - started,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
