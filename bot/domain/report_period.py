"""Which stretch of time and which channel a desk report covers, from what a person typed.

The console's page and API (dates) and `shopdesk report` (`--since 7d`, or dates) read
their input here, so both refuse the same things with the same sentences, and a report
never silently covers something other than what was asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

CHANNELS = ("webchat", "telegram", "api")
ALL_CHANNELS = "all"
# A quarter: enough to compare months, and a bound on the events one request reads.
MAX_DAYS = 92
DEFAULT_DAYS = 7
_EARLIEST = date(2000, 1, 1)
_LATEST = date(2999, 12, 31)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SINCE = re.compile(r"(\d{1,4})([hd])")


class PeriodError(ValueError):
    """The input cannot be a report period; the message says why, in the user's terms."""


@dataclass(frozen=True)
class ReportPeriod:
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware
    channel: str | None  # None: every channel

    @property
    def channel_name(self) -> str:
        return self.channel or ALL_CHANNELS


def parse_channel(text: str | None) -> str | None:
    """None for every channel."""
    if text is None or text == ALL_CHANNELS:
        return None
    if text in CHANNELS:
        return text
    raise PeriodError(f"channel must be one of {ALL_CHANNELS}, {', '.join(CHANNELS)}")


def _day(text: str, name: str) -> date:
    if not _DATE.fullmatch(text):
        raise PeriodError(f"{name} must be a date like 2026-03-31")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{name} is not a real date") from None
    if not _EARLIEST <= day <= _LATEST:
        raise PeriodError(f"{name} must be between {_EARLIEST} and {_LATEST}")
    return day


def period_between(
    from_text: str | None,
    to_text: str | None,
    *,
    channel: str | None,
    today: date,
    zone: tzinfo,
) -> ReportPeriod:
    """Whole days, both included, in the shop's time zone; `to` defaults to today and
    `from` to the week that ends on `to`."""
    last = _day(to_text, "to") if to_text is not None else today
    first = _day(from_text, "from") if from_text is not None else last - timedelta(DEFAULT_DAYS - 1)
    if first > last:
        raise PeriodError("from must not be after to")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"a report covers at most {MAX_DAYS} days")
    return ReportPeriod(
        start=datetime.combine(first, time(), tzinfo=zone),
        end=datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
        channel=parse_channel(channel),
    )


def period_since(text: str, *, channel: str | None, now: datetime) -> ReportPeriod:
    """The last `7d` or `24h` up to `now`."""
    matched = _SINCE.fullmatch(text.strip())
    if matched is None:
        raise PeriodError("since must be hours or days, like 24h or 7d")
    count, unit = int(matched.group(1)), matched.group(2)
    length = timedelta(hours=count) if unit == "h" else timedelta(days=count)
    if count < 1 or length > timedelta(days=MAX_DAYS):
        raise PeriodError(f"since must be between 1h and {MAX_DAYS}d")
    return ReportPeriod(start=now - length, end=now, channel=parse_channel(channel))
