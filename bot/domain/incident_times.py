"""When, in an ops person's words: "since 9am", "back Friday", "eta Monday 10:00".

A moment is read from the few words after a marker ("since", "back", "by", "eta" ...),
or from a phrase that carries its own direction ("in 2 days", "3 hours ago"), never by
searching the whole text for anything date-like, so an order number or "sev 3" is never
taken for a time. Every reading is anchored on the `now` the caller passes, in the shop's
time zone, and lands on the side of `now` its context needs: a start in the past, an
estimate in the future. A moment that cannot be ("expected back yesterday", "since
tomorrow") is None, for the form to ask again, rather than a guess.

The choices, so that the forms, the tests and the people agree on them:
- no time given: an estimate at 18:00 (the end of the shops' working day, `default_hour`),
  a start at 00:00 (the earliest the day allows, so the incident covers all of it);
- a time alone ("9am", "09:30"): the next one for an estimate, the last one for a start
  ("since 9am" said at 08:00 means yesterday 09:00); a bare "9" is not a time;
- a weekday: the next one for an estimate, the last one for a start. Today's weekday means
  a week away ("back Friday" said on a Friday is next Friday, "since Monday" said on a
  Monday is last Monday) unless a time still on the right side of now is given;
- a date without a year: this year, or the next/previous one across New Year (only when
  this year's would be more than half a year on the wrong side);
- parts of the day: morning 08:00, noon 12:00, afternoon 14:00, evening and end of day
  18:00, night and tonight 21:00;
- "in 2 days" is a day (today + 2, at the default hour), "in 3 hours" an instant;
  "for 3 days" counts from the start when the text gives one, else from now.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.domain.clock import SHOP_TIMEZONE

MAX_TEXT_CHARS = 2000
ESTIMATE_DEFAULT_HOUR = 18
START_DEFAULT_HOUR = 0

_TOKEN = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}:\d{2}|\d+(?:st|nd|rd|th)?|[a-z]+(?:'[a-z]+)?|[^\s\w]"
)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_HOUR_MINUTE = re.compile(r"(\d{1,2}):(\d{2})")
_DAY_OF_MONTH = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")

_WEEKDAY_NAMES = (
    ("monday", "mon"),
    ("tuesday", "tue", "tues"),
    ("wednesday", "wed"),
    ("thursday", "thu", "thur", "thurs"),
    ("friday", "fri"),
    ("saturday", "sat"),
    ("sunday", "sun"),
)
_WEEKDAYS = {name: number for number, names in enumerate(_WEEKDAY_NAMES) for name in names}
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")  # fmt: skip
_MONTHS = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}
_AMOUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10}  # fmt: skip
_UNIT_MINUTES = {"minute": 1, "min": 1, "hour": 60, "hr": 60, "day": 1440, "week": 10080}
_LONGEST = timedelta(days=366)
_DAYPARTS = {"morning": time(8), "lunchtime": time(12), "afternoon": time(14),
             "evening": time(18), "night": time(21)}  # fmt: skip
_END_OF_DAY = time(18)
_TOMORROW = frozenset({"tomorrow", "tmr", "tmrw", "tomorow"})
_CONNECTORS = frozenset({"at", "around", "about", "by", "from", ",", "in", "the"})

_START_MARKERS = frozenset({"since", "from", "started", "starting", "start", "began", "begun"})
_START_FILLERS = frozenset({"at", "on", "around", "about", "approx", "approximately",
                            "roughly", "early", "late", "earlier", "the", ":", "-"})  # fmt: skip
_RECOVERY_MARKERS = frozenset({"back", "until", "till", "til", "by", "eta", "estimate",
                               "estimated", "expected", "expect", "expecting", "recovery",
                               "recover", "recovers", "resume", "resumes", "reopen", "reopens",
                               "lift", "lifts", "due"})  # fmt: skip
_RECOVERY_FILLERS = frozenset({"to", "normal", "on", "at", "around", "about", "approx",
                               "approximately", "roughly", "is", "be", "the", "up", "online",
                               "again", "back", "by", "until", "till", "new", "estimate",
                               "estimated", "eta", "expected", ":", "-", "=", "of", "latest",
                               "probably", "maybe", "hopefully", "sometime", "service",
                               "running", "working", "it", "deliveries"})  # fmt: skip
_MOST_FILLERS = 4


@dataclass(frozen=True)
class _Day:
    offset: int | None = None  # days from today
    weekday: int | None = None
    month_day: tuple[int, int, int | None] | None = None  # month, day, year if said
    clock: time | None = None  # implied by the words themselves: "tonight", "this morning"
    future: bool | None = None  # "next Friday" / "last Friday"


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text[:MAX_TEXT_CHARS].replace("’", "'").lower())


def parse_moment(
    text: str, *, now: datetime, default_hour: int = ESTIMATE_DEFAULT_HOUR
) -> datetime | None:
    """A form's answer to "when do you expect it back?": the first future moment in it."""
    return _first_moment(_tokens(text), now=_shop_time(now), future=True, hour=default_hour)


def parse_past_moment(
    text: str, *, now: datetime, default_hour: int = START_DEFAULT_HOUR
) -> datetime | None:
    """A form's answer to "since when?": the first past moment in it."""
    return _first_moment(_tokens(text), now=_shop_time(now), future=False, hour=default_hour)


def read_start(text: str, *, now: datetime) -> datetime | None:
    """The first start the text states: "since 9am", "from this morning", "2 hours ago"."""
    words, now = _tokens(text), _shop_time(now)
    found = _moments(
        words,
        _START_MARKERS,
        _START_FILLERS,
        now=now,
        future=False,
        hour=START_DEFAULT_HOUR,
        base=None,
    )
    return found[0] if found else None


def read_recovery(
    text: str, *, now: datetime, started_at: datetime | None = None
) -> datetime | None:
    """The last estimate the text states, since an update's newest estimate comes last:
    "back Friday", "until 6 Dec", "eta Monday 10:00", "in 2 days", "for 3 days"."""
    words, now = _tokens(text), _shop_time(now)
    base = None if started_at is None else _shop_time(started_at)
    found = _moments(
        words,
        _RECOVERY_MARKERS,
        _RECOVERY_FILLERS,
        now=now,
        future=True,
        hour=ESTIMATE_DEFAULT_HOUR,
        base=base,
    )
    return found[-1] if found else None


def _shop_time(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must be aware; the shop's clock is in SHOP_TIMEZONE")
    return moment.astimezone(SHOP_TIMEZONE)


def _first_moment(words: list[str], *, now: datetime, future: bool, hour: int) -> datetime | None:
    found = _moments(words, frozenset(), frozenset(), now=now, future=future, hour=hour, base=None)
    return found[0] if found else None


def _moments(
    words: list[str],
    markers: frozenset[str],
    fillers: frozenset[str],
    *,
    now: datetime,
    future: bool,
    hour: int,
    base: datetime | None,
) -> list[datetime]:
    """The moments in `words`, in order. With markers, only those after a marker or in a
    phrase that says its own direction ("in 2 days", "3 hours ago"); without, any. A phrase
    on the wrong side of now is skipped whole, so "today 9am" said at 15:00 is not read
    again from "9am" as tomorrow's."""
    found: list[datetime] = []
    i = 0
    while i < len(words):
        start = i
        if words[i] in markers:
            start = i + 1
            while _at(words, start) in fillers and start - i <= _MOST_FILLERS:
                start += 1
        elif markers and not _says_direction(words, i):
            i += 1
            continue
        read = _moment_at(words, start, now=now, future=future, hour=hour, base=base)
        if read is None:
            i += 1
            continue
        moment, end = read
        if moment is not None:
            found.append(moment)
        i = max(end, i + 1)
    return found


def _at(words: Sequence[str], i: int) -> str:
    return words[i] if 0 <= i < len(words) else ""


def _moment_at(
    words: Sequence[str], i: int, *, now: datetime, future: bool, hour: int, base: datetime | None
) -> tuple[datetime | None, int] | None:
    """The moment whose words start at `i`, and where they end: None if no moment starts
    there, (None, end) if one does but it is on the wrong side of now."""
    moment: datetime | None
    if (duration := _duration(words, i)) is not None:
        amount, unit_minutes, ahead, end = duration
        if ahead is None:  # "3 hours" where a moment is expected: from now on
            ahead = future
        origin = base if words[i] == "for" and base is not None else now
        moment = _shifted(origin, amount, unit_minutes, ahead=ahead, hour=hour)
    elif (said := _day(words, i)) is not None:
        day, end = said
        clock, end = _clock_after(words, end)
        moment = _on_day(day, clock, now=now, future=future, hour=hour)
    elif (clocked := _clock(words, i)) is not None:
        clock, end = clocked
        after = end + 1 if _at(words, end) in ("on", ",") else end
        if (said := _day(words, after)) is not None:
            day, end = said
            moment = _on_day(day, clock, now=now, future=future, hour=hour)
        else:
            moment = _nearest(datetime.combine(now.date(), clock, SHOP_TIMEZONE), now, future)
    else:
        return None
    if moment is None or (moment > now) != future:
        return None, end
    return moment, end


def _duration(words: Sequence[str], i: int) -> tuple[int, int, bool | None, int] | None:
    """Amount, minutes per unit, whether it is ahead (None when not said), end: "in 2 days",
    "3 hours ago", "3 hours"."""
    ahead = _at(words, i) in ("in", "for", "within")
    j = i + 1 if ahead else i
    while ahead and _at(words, j) in ("the", "next", "another", "about") and j < i + 3:
        j += 1
    amount = _amount(_at(words, j))
    unit = _at(words, j + 1)
    unit_minutes = _UNIT_MINUTES.get(unit.removesuffix("s"))
    if amount is None or unit_minutes is None:
        return None
    if ahead:
        return amount, unit_minutes, True, j + 2
    if _at(words, j + 2) == "ago":
        return amount, unit_minutes, False, j + 3
    return amount, unit_minutes, None, j + 2


def _says_direction(words: Sequence[str], i: int) -> bool:
    duration = _duration(words, i)
    return duration is not None and duration[2] is not None


def _amount(word: str) -> int | None:
    if word.isdigit() and len(word) <= 4:
        return int(word)
    return _AMOUNTS.get(word)


def _shifted(
    origin: datetime, amount: int, unit_minutes: int, *, ahead: bool, hour: int
) -> datetime | None:
    delta = timedelta(minutes=amount * unit_minutes)
    if delta > _LONGEST:
        return None
    sign = 1 if ahead else -1
    if unit_minutes >= _UNIT_MINUTES["day"]:  # a day said in days: the day, at the usual hour
        return datetime.combine(origin.date() + sign * delta, time(hour), SHOP_TIMEZONE)
    return origin.replace(second=0, microsecond=0) + sign * delta


def _clock(words: Sequence[str], i: int) -> tuple[time, int] | None:
    word = _at(words, i)
    if word in ("noon", "midday"):
        return time(12), i + 1
    if word == "midnight":
        return time(0), i + 1
    if word in _DAYPARTS:
        return _DAYPARTS[word], i + 1
    if word in ("eod", "cob"):
        return _END_OF_DAY, i + 1
    if word == "end" and _at(words, i + 1) == "of":
        j = i + 3 if _at(words, i + 2) == "the" else i + 2
        return (_END_OF_DAY, j + 1) if _at(words, j) in ("day", "business") else None
    if (match := _HOUR_MINUTE.fullmatch(word)) is not None:
        hour, minute, end = int(match[1]), int(match[2]), i + 1
    elif word.isdigit() and len(word) <= 2 and _at(words, i + 1) in ("am", "pm"):
        hour, minute, end = int(word), 0, i + 1
    else:
        return None
    if (half := _at(words, end)) in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        hour, end = hour % 12 + (12 if half == "pm" else 0), end + 1
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute), end


def _clock_after(words: Sequence[str], end: int) -> tuple[time | None, int]:
    """An optional time after a day: "Friday 18:00", "tomorrow at noon", "Monday morning"."""
    j = end
    while _at(words, j) in _CONNECTORS and j < end + 2:
        j += 1
    clocked = _clock(words, j)
    return clocked if clocked is not None else (None, end)


def _day(words: Sequence[str], i: int) -> tuple[_Day, int] | None:
    word, after = _at(words, i), _at(words, i + 1)
    if word in ("today", "tonight"):
        return _Day(offset=0, clock=_DAYPARTS["night"] if word == "tonight" else None), i + 1
    if word in _TOMORROW or word == "yesterday":
        return _Day(offset=1 if word in _TOMORROW else -1), i + 1
    if word == "day" and after == "after" and _at(words, i + 2) in _TOMORROW:
        return _Day(offset=2), i + 3
    if word == "last" and after == "night":
        return _Day(offset=-1, clock=_DAYPARTS["night"]), i + 2
    if word == "this" and after in _DAYPARTS:
        return _Day(offset=0, clock=_DAYPARTS[after]), i + 2
    if word in ("this", "next", "coming", "last") and after in _WEEKDAYS:
        future = {"next": True, "coming": True, "last": False}.get(word)
        return _Day(weekday=_WEEKDAYS[after], future=future), i + 2
    if word in _WEEKDAYS:
        return _Day(weekday=_WEEKDAYS[word]), i + 1
    return _date(words, i)


def _date(words: Sequence[str], i: int) -> tuple[_Day, int] | None:
    """Day first or month first, as people write them ("6 Dec", "6th of December", "Dec 6",
    "2026-12-06"), each with an optional year."""
    word = _at(words, i)
    if (iso := _ISO_DATE.fullmatch(word)) is not None:
        return _Day(month_day=(int(iso[2]), int(iso[3]), int(iso[1]))), i + 1
    if (day_first := _DAY_OF_MONTH.fullmatch(word)) is not None:
        j = i + 2 if _at(words, i + 1) == "of" else i + 1
        if _at(words, j) in _MONTHS:
            return _with_year(words, j + 1, _MONTHS[_at(words, j)], int(day_first[1]))
    if word in _MONTHS and (month_first := _DAY_OF_MONTH.fullmatch(_at(words, i + 1))):
        return _with_year(words, i + 2, _MONTHS[word], int(month_first[1]))
    return None


def _with_year(words: Sequence[str], j: int, month: int, day: int) -> tuple[_Day, int]:
    year = _at(words, j)
    if len(year) == 4 and year.isdigit():
        return _Day(month_day=(month, day, int(year))), j + 1
    return _Day(month_day=(month, day, None)), j


def _on_day(
    day: _Day, clock: time | None, *, now: datetime, future: bool, hour: int
) -> datetime | None:
    today = now.date()
    at = clock or day.clock or time(hour)
    if day.offset is not None:
        return _combine(today + timedelta(days=day.offset), at)
    if day.weekday is not None:
        if day.future is not None and day.future != future:
            return None
        today_fits = clock is not None and (_combine(today, at) > now) == future
        if future:
            days = (day.weekday - today.weekday()) % 7 or (0 if today_fits else 7)
        else:
            days = -((today.weekday() - day.weekday) % 7 or (0 if today_fits else 7))
        return _combine(today + timedelta(days=days), at)
    if day.month_day is None:
        return None
    month, day_of_month, year = day.month_day
    try:
        moment = _combine(date(year or today.year, month, day_of_month), at)
        if year is None and (moment > now) != future and abs(moment - now) > timedelta(days=183):
            moment = moment.replace(year=moment.year + (1 if future else -1))
    except ValueError:  # 30 February, or 29 February in the other year
        return None
    return moment


def _nearest(moment: datetime, now: datetime, future: bool) -> datetime:
    """Today's time of day, or the day after (before) when it is already past (to come)."""
    if future and moment <= now:
        return moment + timedelta(days=1)
    if not future and moment > now:
        return moment - timedelta(days=1)
    return moment


def _combine(day: date, at: time) -> datetime:
    return datetime.combine(day, at, SHOP_TIMEZONE)
