"""What a report covers, from what a manager typed in the page or the command line."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.report_period import PeriodError, ReportPeriod, period_between, period_since

TODAY = date(2026, 3, 31)


def _between(first: str | None, last: str | None, channel: str | None = None) -> ReportPeriod:
    return period_between(first, last, channel=channel, today=TODAY, zone=SHOP_TIMEZONE)


def test_whole_days_in_the_shops_time_zone_both_included() -> None:
    period = _between("2026-03-01", "2026-03-02", "telegram")
    assert period.start == datetime(2026, 3, 1, tzinfo=SHOP_TIMEZONE)
    assert period.end == datetime(2026, 3, 3, tzinfo=SHOP_TIMEZONE)
    assert (period.channel, period.channel_name) == ("telegram", "telegram")


def test_without_dates_the_week_up_to_today() -> None:
    period = _between(None, None, "all")
    assert period.start == datetime(2026, 3, 25, tzinfo=SHOP_TIMEZONE)
    assert period.end == datetime(2026, 4, 1, tzinfo=SHOP_TIMEZONE)
    assert (period.channel, period.channel_name) == (None, "all")


def test_a_quarter_at_most() -> None:
    quarter = _between("2026-01-01", "2026-04-02")
    assert quarter.end - quarter.start == timedelta(days=92)
    with pytest.raises(PeriodError, match="at most 92 days"):
        _between("2026-01-01", "2026-04-03")


@pytest.mark.parametrize(
    ("first", "last", "channel", "says"),
    [
        ("2026-3-1", None, None, "from must be a date like"),
        ("yesterday", None, None, "from must be a date like"),
        (None, "2026-02-30", None, "to is not a real date"),
        ("0001-01-01", "0001-01-02", None, "between 2000-01-01"),
        ("2026-03-02", "2026-03-01", None, "from must not be after to"),
        (None, None, "whatsapp", "channel must be one of all, webchat, telegram, api"),
        (None, None, "", "channel must be one of"),
        ("2026-03-01\n", None, None, "from must be a date like"),
    ],
)
def test_what_cannot_be_a_period_is_refused_with_a_reason(
    first: str | None, last: str | None, channel: str | None, says: str
) -> None:
    with pytest.raises(PeriodError, match=says):
        _between(first, last, channel)


def test_since_hours_or_days_up_to_now() -> None:
    now = datetime(2026, 3, 31, 15, 30, tzinfo=SHOP_TIMEZONE)
    assert period_since("7d", channel=None, now=now).start == now - timedelta(days=7)
    assert period_since(" 24h ", channel="api", now=now).start == now - timedelta(hours=24)
    assert period_since("92d", channel=None, now=now).end == now
    for wrong in ("0d", "93d", "7w", "-1d", "d", "2209h"):
        with pytest.raises(PeriodError):
            period_since(wrong, channel=None, now=now)
