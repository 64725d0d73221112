"""Two gateway instances with one bot token, in polling mode: only the one that holds the
jobs' lease fetches updates (Telegram would end one poller's getUpdates with a conflict
each time the other asks), and when it dies the other takes over within a lease and
answers what customers sent meanwhile."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from bot.storage.tables import JobLease
from tests.support.fake_telegram import FakeTelegram
from tests.support.notice_fanout import GatewayProcess, gateway, wait_until

LEASE_SECONDS = "2"


def _lease_holder(database_url: str) -> str | None:
    database = sa.create_engine(database_url)
    try:
        with database.connect() as connection:
            return connection.execute(
                sa.select(JobLease.holder).where(JobLease.name == "gateway-jobs")
            ).scalar()
    finally:
        database.dispose()


def _answered(telegram: FakeTelegram, chat: int) -> int:
    return len(telegram.sent_messages(chat))


def test_one_gateway_polls_and_the_other_takes_over_when_it_dies(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'shopdesk.db'}"
    settings = {"job_lease_seconds": LEASE_SECONDS}
    with (
        FakeTelegram() as telegram,
        gateway(database_url, telegram, tmp_path / "one.log", **settings) as one,
        gateway(database_url, telegram, tmp_path / "two.log", **settings) as two,
    ):
        one.start()
        two.start()
        wait_until(lambda: len(telegram.calls("getUpdates")) >= 3, "polling", 30)
        telegram.push_update(telegram.text_update(101, "/help"))
        wait_until(lambda: _answered(telegram, 101) >= 1, "an answer to /help", 30)

        holder = _lease_holder(database_url)
        polling: GatewayProcess = one if holder and holder.endswith(f":{one.port}") else two
        other = two if polling is one else one
        assert holder is not None and holder.endswith(f":{polling.port}")
        polling.kill()  # SIGKILL: no clean hand-over, its lease has to lapse
        telegram.push_update(telegram.text_update(102, "/help"))
        wait_until(lambda: _answered(telegram, 102) >= 1, "the other gateway's answer", 30)
        assert (_lease_holder(database_url) or "").endswith(f":{other.port}")
        other.terminate()

    assert telegram.poll_conflicts == 0
    assert _answered(telegram, 101) == 1 and _answered(telegram, 102) == 1
    assert (
        "now fetches Telegram's updates"
        in (tmp_path / "one.log").read_text() + (tmp_path / "two.log").read_text()
    )
