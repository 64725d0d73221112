"""`shopdesk report` as a manager types it: a table of the hand-computed desk
(tests/support/desk_fixture.py), and a clear refusal of a period it cannot cover."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.settings import get_settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from tests.support.desk_fixture import store_desk

D = date(2026, 3, 2)


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    url = f"sqlite:///{tmp_path / 'shopdesk.db'}"
    upgrade(url, schema="shopdesk")
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        store_desk(session, D)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SHOPDESK_SERVICE_LEVEL_SECONDS", "60")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _report(*args: str) -> int:
    """As `main` runs it, without `main`'s process-wide umask."""
    parsed = build_parser().parse_args(["report", *args])
    code: int = parsed.handler(parsed)
    return code


def test_the_table_shows_the_hand_computed_figures(
    desk: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _report("--from", "2026-03-02", "--to", "2026-03-03") == 0
    lines = [line.split("  ", 1)[-1].strip() for line in capsys.readouterr().out.splitlines()]
    table = {line.split("  ", 1)[0]: line.split("  ", 1)[-1].strip() for line in lines if line}
    assert table["contained by the bot"] == "40.0%  (4 of 10)"
    assert table["abandoned in the queue"] == "20.0%  (1 of 5; call-backs left out: 1)"
    assert table["first response median, p90"] == "67.5 s, 150 s  (4 answered)"
    assert table["answered within 60 s"] == "40.0%  (2 of 5; target 80.0%)"
    assert table["CSAT response rate"] == "75.0%  (3 of 4)"
    assert table["delivery_delay"] == "3"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "1w"], "since must be hours or days, like 24h or 7d"),
        (["--since", "200d"], "since must be between 1h and 92d"),
        (["--since", "7d", "--to", "2026-03-03"], "give --since, or --from and --to, not both"),
        (["--from", "2026-03-32"], "from is not a real date"),
        (["--channel", "email"], "channel must be one of all, webchat, telegram, api"),
    ],
)
def test_a_period_it_cannot_cover_is_refused(
    desk: None, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    assert _report(*args) == 2
    assert capsys.readouterr().err == f"shopdesk report: {says}\n"
