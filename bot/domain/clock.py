"""The shop's clock: "late", "today" and tracking times are all in the shop's time zone.

Chinese shops run on Beijing time, which has had no daylight saving since 1991,
so a fixed offset is exact and needs no time-zone database on the machine.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

SHOP_TIMEZONE = timezone(timedelta(hours=8), "CST")


def shop_now() -> datetime:
    return datetime.now(SHOP_TIMEZONE)


def shop_today() -> date:
    return shop_now().date()
