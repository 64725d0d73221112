"""A realistic past week at the service desk, so the managers' page of a new install
shows real-looking figures and charts instead of an empty page.

It writes desk events only (bot/domain/desk_events.py), into Shopdesk's own database, for
the seven days before the seed day: a daily rhythm of about a hundred contacts, more when
the demo incidents (bot/demo/incidents.py) hit, their notices and the contacts that still
came after them. No conversations, handoffs or ratings are made, so the console's queue,
the surge rule and the wait estimates see none of it. Demo rows are marked by their
conversation ids (`demo-week-…`) and their accounts (negative ids, which no real channel
account has), so live events never mix with them.

Deterministic for a seed day, and skipped when already seeded, since it runs on every
`make run`.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.demo.generate import LOOKED_AT
from bot.demo.incidents import demo_incidents
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.desk_events import EventKind
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.storage.ops_tables import DeskEvent, IncidentRecord

logger = logging.getLogger(__name__)

SEED = 20_261_204
PREFIX = "demo-week-"
DAYS = 7
IDLE = timedelta(minutes=30)
# Contacts in each hour of an ordinary day, shop time: quiet nights, a late-morning peak
# and an evening one (about 100 a day).
HOURLY = (
    1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.2, 2.5, 4.5, 6.2, 7.2, 6.8,
    5.3, 5.3, 5.8, 5.3, 4.8, 4.8, 5.3, 6.3, 7.2, 6.8, 4.8, 2.4,
)  # fmt: skip
CHANNELS = (("webchat", 0.55), ("telegram", 0.35), ("api", 0.10))
TOPICS = (
    ("order_status", 30), ("delivery_delay", 14), ("return_request", 10), ("refund_status", 9),
    ("ask_policy", 8), ("refund_request", 6), ("cancel_order", 5), ("change_address", 4),
    ("damaged_item", 4), ("human_agent", 3), ("complain", 2), ("out_of_scope", 2),
)  # fmt: skip
INCIDENT_TOPICS = (
    ("delivery_delay", 70),
    ("order_status", 18),
    ("complain", 6),
    ("cancel_order", 6),
)
# Extra contacts an hour while an incident is on, by kind, at an ordinary hour's pace.
EXTRA_PER_HOUR = {"regional_lockdown": 2.5, "carrier_outage": 7.0, "warehouse": 4.0}
# Notices: how long after the start they went out, and to how many customers.
NOTICES = {
    "regional_lockdown": (timedelta(hours=2), 140),
    "carrier_outage": (timedelta(hours=1.5), 110),
    "warehouse": (timedelta(hours=1), 30),
}
CONTACTED_AFTER_NOTICE = 0.11
SCORES = ((1, 2), (2, 4), (3, 10), (4, 34), (5, 50))
SCORES_IN_INCIDENT = ((1, 7), (2, 10), (3, 18), (4, 33), (5, 32))


@dataclass(frozen=True)
class _Incident:
    id: int
    kind: str
    started: datetime
    ended: datetime


@dataclass
class _Week:
    rng: random.Random
    start: datetime
    end: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    contacts: int = 0
    handoffs: int = 0

    def add(self, kind: EventKind, at: datetime, **fields: Any) -> None:
        self.rows.append({**_EMPTY, "kind": kind.value, "at": at, **fields})


# Every row names every column, so that the rows go to the database in one batch.
_EMPTY: dict[str, Any] = dict.fromkeys(
    ("conversation_id", "channel", "handoff_id", "agent_id", "incident_id", "intent", "value",
     "account_id")
)  # fmt: skip


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([item for item, _ in weighted], [weight for _, weight in weighted])[0]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the few contacts an hour brings."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _seconds(rng: random.Random, median: float, spread: float = 0.8) -> float:
    return round(min(1800.0, max(5.0, rng.lognormvariate(math.log(median), spread))), 1)


def _contact(
    week: _Week,
    opened: datetime,
    *,
    incident: _Incident | None = None,
    surge: bool = False,
    account: int | None = None,
) -> None:
    """One contact and everything that happened to it."""
    rng = week.rng
    week.contacts += 1
    channel = "telegram" if account is not None else _pick(rng, CHANNELS)
    if account is None and channel != "api":
        account = -rng.randint(1, 4000)
    common = {
        "conversation_id": f"{PREFIX}{week.contacts:05d}",
        "channel": channel,
        "account_id": account,
    }
    tied = {"incident_id": incident.id} if incident is not None else {}
    topic = _pick(rng, INCIDENT_TOPICS if incident is not None else TOPICS)
    week.add(EventKind.OPENED, opened, **common)
    if rng.random() < 0.9:
        week.add(EventKind.INTENT, opened + timedelta(seconds=rng.randint(2, 40)), intent=topic,
                 **common)  # fmt: skip
    if incident is not None:  # the bot's answer named it
        week.add(EventKind.INCIDENT_CONTACT, opened + timedelta(seconds=rng.randint(20, 90)),
                 **common, **tied)  # fmt: skip
    wants_person = {"complain": 0.7, "human_agent": 0.9}.get(topic, 0.34 if incident else 0.17)
    if rng.random() >= wants_person:
        ended = opened + timedelta(seconds=rng.randint(60, 600)) + IDLE
        week.add(EventKind.BOT_RESOLVED, ended, **common)
        return
    week.handoffs += 1
    handoff = {"handoff_id": -week.handoffs}
    queued = opened + timedelta(seconds=rng.randint(30, 240))
    week.add(EventKind.HANDED_OFF, queued, **common, **handoff, **tied)
    gone = rng.random()  # below 0.04 a call-back; then the customers who gave up waiting
    if gone < 0.04 + (0.14 if surge else 0.05):
        waited = rng.randint(60, 600)
        kind = EventKind.CALLBACK if gone < 0.04 else EventKind.ABANDONED
        week.add(kind, queued + timedelta(seconds=waited), value=float(waited), **common, **handoff)
        return
    _answered(
        week, opened, queued, surge=surge, incident=incident is not None, ids=common | handoff
    )


def _answered(
    week: _Week,
    opened: datetime,
    queued: datetime,
    *,
    surge: bool,
    incident: bool,
    ids: dict[str, Any],
) -> None:
    rng = week.rng
    agent = {"agent_id": -rng.randint(1, 4)}
    reply = _seconds(rng, 150 if surge else 38)
    replied = queued + timedelta(seconds=reply)
    week.add(EventKind.AGENT_FIRST_REPLY, replied, value=reply, **ids, **agent)
    resolved = replied + timedelta(seconds=rng.randint(180, 900))
    took = (resolved - opened).total_seconds()
    week.add(EventKind.RESOLVED, resolved, value=took, **ids, **agent)
    closed = rng.random() < 0.8
    if not closed and rng.random() > 0.7:
        return  # handed back, and the customer never wrote again: never asked to rate
    asked = resolved if closed else resolved + timedelta(seconds=rng.randint(60, 300))
    week.add(EventKind.SURVEY_SENT, asked, **ids)
    if rng.random() < 0.45:
        score = _pick(rng, SCORES_IN_INCIDENT if incident else SCORES)
        week.add(EventKind.RATED, asked + timedelta(seconds=rng.randint(10, 120)),
                 value=float(score), **ids)  # fmt: skip


def _active(incidents: Sequence[_Incident], moment: datetime) -> list[_Incident]:
    return [i for i in incidents if i.started <= moment < i.ended]


def _hours(week: _Week, incidents: Sequence[_Incident]) -> None:
    rng = week.rng
    hour = week.start
    while hour < week.end - timedelta(hours=1):  # nothing opens in the last hour
        pace = HOURLY[hour.astimezone(SHOP_TIMEZONE).hour]
        weekend = hour.astimezone(SHOP_TIMEZONE).weekday() >= 5
        for _ in range(_poisson(rng, pace * (1.15 if weekend else 1.0))):
            _contact(week, hour + timedelta(seconds=rng.randint(0, 3599)))
        for incident in _active(incidents, hour):
            fresh = hour - incident.started < timedelta(hours=6)
            extra = EXTRA_PER_HOUR.get(incident.kind, 2.0) * pace / 5 * (1.5 if fresh else 1.0)
            for _ in range(_poisson(rng, extra)):
                opened = hour + timedelta(seconds=rng.randint(0, 3599))
                if opened >= incident.started:
                    _contact(week, opened, incident=incident, surge=fresh and extra > 3)
        hour += timedelta(hours=1)


def _notices(week: _Week, incidents: Sequence[_Incident]) -> None:
    rng = week.rng
    for incident in incidents:
        delay, count = NOTICES.get(incident.kind, (timedelta(hours=2), 20))
        sent = incident.started + delay
        if not week.start <= sent < week.end - timedelta(hours=2):
            continue
        for index in range(count):
            account = -(5000 + incident.id * 1000 + index)
            at = sent + timedelta(seconds=rng.randint(0, 1200))
            week.add(
                EventKind.NOTICE_SENT, at, conversation_id=f"{PREFIX}n{incident.id}-{index:04d}",
                channel="telegram", incident_id=incident.id, account_id=account,
            )  # fmt: skip
            if rng.random() < CONTACTED_AFTER_NOTICE:
                later = at + timedelta(hours=rng.uniform(0.5, 30))
                if later < week.end - timedelta(hours=1):
                    _contact(week, later, incident=incident, account=account)


def _registry_incidents(session: Session, looked_at: datetime) -> list[_Incident]:
    """The demo incidents as the registry numbered them (matched by title)."""
    rows = session.execute(sa.select(IncidentRecord.title, IncidentRecord.id))
    ids = {title: incident_id for title, incident_id in rows}
    found = []
    for row in demo_incidents(looked_at):
        if row["title"] in ids:
            ended = row["resolved_at"] or looked_at + timedelta(days=30)
            found.append(_Incident(ids[row["title"]], row["kind"], row["started_at"], ended))
    return found


def desk_week_rows(today: date, incidents: Sequence[_Incident]) -> list[dict[str, Any]]:
    end = datetime.combine(today, time(), tzinfo=SHOP_TIMEZONE)
    week = _Week(rng=random.Random(SEED), start=end - timedelta(days=DAYS), end=end)  # noqa: S311
    _hours(week, incidents)
    _notices(week, incidents)
    return sorted(week.rows, key=lambda row: (row["at"], row["conversation_id"]))


def seed_desk_week(database_url: str, *, today: date, force: bool = False) -> int:
    """How many contacts were written; 0 when the week was seeded before (unless `force`,
    which replaces the demo rows and leaves every live one alone)."""
    upgrade(database_url, schema="shopdesk")
    engine = make_engine(database_url)
    demo = DeskEvent.conversation_id.startswith(PREFIX)
    try:
        with make_session_factory(engine).begin() as session:
            if not force and session.scalar(sa.select(sa.exists().where(demo))):
                return 0
            session.execute(sa.delete(DeskEvent).where(demo))
            looked_at = datetime.combine(today, LOOKED_AT, tzinfo=SHOP_TIMEZONE)
            rows = desk_week_rows(today, _registry_incidents(session, looked_at))
            session.execute(sa.insert(DeskEvent), rows)
    finally:
        engine.dispose()
    contacts = sum(1 for row in rows if row["kind"] == EventKind.OPENED.value)
    logger.info("seeded a week of %d demo contacts before %s", contacts, today)
    return contacts
