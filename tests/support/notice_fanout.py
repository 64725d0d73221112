"""An incident fan-out on the real gateway process and the fake Bot API, for the fan-out
test (tests/bot/channels/test_notice_fanout.py) and `make bench-notices`.

The outbox is written directly (accounts linked to customers, a batch with every notice),
as the engine's "notify affected customers" would write it; the gateway's notice sender
does the rest. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from bot.domain.incident_changes import IncidentDraft
from bot.domain.incidents import Incident, IncidentKind
from bot.domain.notices import Occasion, PlannedNotice, Recipient, notice_text
from bot.storage.db import make_engine, make_session_factory
from bot.storage.incidents import Author, declare_incident
from bot.storage.migrate import upgrade
from bot.storage.notices import create_batch
from bot.storage.ops_tables import Notice
from bot.storage.tables import ChannelAccount
from tests.support.fake_telegram import FakeTelegram, SentMessage
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
FIRST_CHAT = 500_000_000
AUTHOR = Author("Mei Lin")


def _draft(title: str) -> IncidentDraft:
    now = datetime.now(UTC)
    return IncidentDraft(
        kind=IncidentKind.CARRIER_OUTAGE,
        title=title,
        severity=2,
        regions=("Hubei (Wuhan)",),
        carriers=("SF Express",),
        customer_note="SF Express parcels to Wuhan are held at its hubs.",
        started_at=now - timedelta(hours=3),
        expected_recovery=now + timedelta(days=2),
    )


def chat_of(customer_id: int) -> int:
    """Customers' Telegram chats (= user ids) in the fan-outs here."""
    return FIRST_CHAT + customer_id


def order_number(customer_id: int) -> str:
    return f"{300_000 + customer_id}"


@dataclass(frozen=True)
class Seeded:
    incident_id: int
    customers: list[int]  # each with one notice in the main batch
    # Customers with two notices back to back (two updates of a second incident), for
    # the one-a-second-per-chat limit.
    twice: list[int]


def _accounts(database_url: str, customer_ids: Sequence[int]) -> dict[int, int]:
    database = make_engine(database_url)
    try:
        with database.begin() as connection:
            connection.execute(
                sa.insert(ChannelAccount),
                [
                    {
                        "channel": "telegram",
                        "external_id": str(chat_of(customer)),
                        "customer_id": customer,
                        "linked_at": datetime.now(UTC),
                        "created_at": datetime.now(UTC),
                    }
                    for customer in customer_ids
                ],
            )
            rows = connection.execute(
                sa.select(ChannelAccount.customer_id, ChannelAccount.id).where(
                    ChannelAccount.channel == "telegram"
                )
            )
            return {int(customer): int(account) for customer, account in rows if customer}
    finally:
        database.dispose()


def _batch(
    database_url: str, incident: Incident, occasion: Occasion, recipients: Iterable[Recipient]
) -> None:
    planned = [
        PlannedNotice(
            recipient,
            (order_number(recipient.customer_id),),
            notice_text(incident, occasion, [order_number(recipient.customer_id)]),
        )
        for recipient in recipients
    ]
    database = make_engine(database_url)
    try:
        with make_session_factory(database).begin() as session:
            create_batch(
                session, incident_id=incident.id, occasion=occasion, author=AUTHOR,
                notices=planned,
            )  # fmt: skip
    finally:
        database.dispose()


def seed_fan_out(database_url: str, *, customers: int, twice: int = 0) -> Seeded:
    """`customers` linked Telegram customers with one notice each in one batch, and `twice`
    more with two notices each (written after it, so they come last)."""
    upgrade(database_url, schema="shopdesk")
    main = list(range(1, customers + 1))
    repeated = list(range(customers + 1, customers + twice + 1))
    accounts = _accounts(database_url, main + repeated)
    database = make_engine(database_url)
    try:
        with make_session_factory(database).begin() as session:
            outage = declare_incident(session, draft=_draft("SF Express outage"), author=AUTHOR)
            storm = declare_incident(session, draft=_draft("Storm in Hubei"), author=AUTHOR)
    finally:
        database.dispose()
    _batch(
        database_url,
        outage,
        Occasion.DECLARED,
        (Recipient(customer, accounts[customer], "telegram") for customer in main),
    )
    for occasion in (Occasion.DECLARED, Occasion.NEW_ESTIMATE):
        _batch(
            database_url,
            storm,
            occasion,
            (Recipient(customer, accounts[customer], "telegram") for customer in repeated),
        )
    return Seeded(outage.id, main, repeated)


def notice_states(database_url: str) -> dict[str, int]:
    database = make_engine(database_url)
    try:
        with database.connect() as connection:
            rows = connection.execute(
                sa.select(Notice.state, sa.func.count()).group_by(Notice.state)
            )
            return {str(state): int(count) for state, count in rows}
    finally:
        database.dispose()


class GatewayProcess:
    """`python -m bot.web` on a free loopback port, polling the fake Bot API; no engine
    (nothing here needs one)."""

    def __init__(
        self, database_url: str, telegram: FakeTelegram, log: Path, **settings: str
    ) -> None:
        self.port = free_port()
        self._log = log
        self._env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "SHOPDESK_GATEWAY_PORT": str(self.port),
            "SHOPDESK_RASA_URL": f"http://127.0.0.1:{free_port()}",  # nobody there
            "SHOPDESK_ENGINE_CHANNEL_TOKEN": "fan-out",
            "SHOPDESK_WEBCHAT_SECRET": "fan-out-secret",
            "TELEGRAM_TOKEN": telegram.token,
            "TELEGRAM_WEBHOOK_URL": "",
            "SHOPDESK_TELEGRAM_API_URL": telegram.base_url,
            **{f"SHOPDESK_{name.upper()}": value for name, value in settings.items()},
        }
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        with self._log.open("ab") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bot.web"],
                cwd=ROOT,
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the gateway exited:\n{self._log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the gateway did not start:\n{self._log.read_text()[-3000:]}")

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as a service manager stops it; returns the exit status."""
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(timeout=timeout)
        finally:
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


@contextmanager
def gateway(
    database_url: str, telegram: FakeTelegram, log: Path, **settings: str
) -> Iterator[GatewayProcess]:
    process = GatewayProcess(database_url, telegram, log, **settings)
    try:
        yield process
    finally:
        process.kill()


@contextmanager
def steady_fake() -> Iterator[None]:
    """The fake Bot API runs in this process and stamps a message when it handles it. A
    full garbage collection here (over 100 ms once it has recorded thousands) holds the
    messages arriving meanwhile back and stamps them together, as Telegram never would:
    that measured the fake, not the gateway. Nothing the fake records is cyclic, so
    collecting can wait until the fan-out is over."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def wait_until(condition: Callable[[], object], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)


# --- what the fake's timestamps show ---


def most_in_window(times: Sequence[datetime], seconds: float = 1.0) -> int:
    """The most messages received within any `seconds` (a half-open window)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while (moment - ordered[first]).total_seconds() >= seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


def closest_in_a_chat(sent: Sequence[SentMessage]) -> float | None:
    """The shortest time between two messages to one chat (None: no chat got two)."""
    by_chat: dict[int, list[datetime]] = defaultdict(list)
    for message in sent:
        by_chat[message.chat_id].append(message.received_at)
    gaps = [
        (later - earlier).total_seconds()
        for times in by_chat.values()
        for earlier, later in zip(sorted(times), sorted(times)[1:], strict=False)
    ]
    return min(gaps) if gaps else None


def per_second(sent: Sequence[SentMessage]) -> float:
    times = sorted(message.received_at for message in sent)
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0]).total_seconds()
