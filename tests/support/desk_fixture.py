"""Two days at a small desk, whose figures were computed by hand (below).

The unit tests of the figures, the API, `shopdesk report` and the page in a browser all
check these same numbers, so any two of them disagreeing fails a test.

Day 1 and day 2 are D and D+1, shop time (UTC+8). Ten contacts, c01-c10:

    id   channel   opened        account topic           what happened
    c01  webchat   D   09:00     11   order_status     bot to the end
    c02  webchat   D   09:30     12   order_status     bot to the end
    c03  telegram  D   10:00     13   delivery_delay   handoff (incident 3): reply 30 s,
                                                        closed 900 s after opening, rated 5
    c04  telegram  D   11:00     14   delivery_delay   handoff (incident 3): reply 90 s,
                                                        closed 1200 s, rated 4
    c05  api       D   14:00     -    return_request   bot to the end
    c06  webchat   D+1 09:15     16   refund_status    handoff, left the queue after 240 s
    c07  telegram  D+1 10:00     17   (greeted only)   handoff, call-back after 120 s
    c08  webchat   D+1 10:30     18   complain         handoff: reply 45 s, handed back
                                                        600 s after opening, rated 2
    c09  telegram  D+1 20:00     13   delivery_delay   the bot's answer named incident 3;
                                                        bot to the end
    c10  webchat   D+1 21:00     20   order_status     handoff: reply 150 s, closed 1500 s,
                                                        asked to rate, did not
    c00  webchat   D-7 12:00     30   order_status     before the period: in no figure

Notices: incident 3 at D 08:00 to accounts 13, 21 and 22 (telegram); incident 4 at
D+1 12:00 to account 23 (telegram).

By hand, all channels, service level 60 s:
    contacts 10; containment c01 c02 c05 c09 = 4/10; handoff rate c03 c04 c06 c07 c08 c10 = 6/10
    handoffs 6, call-backs 1 (c07), abandoned 1 (c06): abandonment 1/(6-1) = 0.2
    first replies 30 45 90 150: median (45+90)/2 = 67.5; p90 rank ceil(0.9*4) = 4 -> 150
    resolutions 600 900 1200 1500: median (900+1200)/2 = 1050; p90 -> 1500
    service level: 30 and 45 are within 60 s: 2/(6-1) = 0.4
    CSAT 5 4 2: mean 11/3 = 3.67; surveys c03 c04 c08 c10 = 4; response 3/4 = 0.75
    topics: delivery_delay 3 (c03 c04 c09), order_status 3 (c01 c02 c10), complain 1,
        refund_status 1, return_request 1, none 1 (c07)
    channels: webchat 5, telegram 4, api 1
    hours: 09 -> 3 (c01 c02 c06), 10 -> 3 (c03 c07 c08), 11 -> 1, 14 -> 1, 20 -> 1, 21 -> 1
    days: D 5 contacts (3 bot, 2 handed off); D+1 5 contacts (1 bot, 4 handed off)
    incident 3: contacts c03 c04 c09 = 3; 3 notices to 3 customers; contacts after their
        notice from notified customers: c03 and c09 (account 13) = 2, from 1 customer: 1/3
    incident 4: no contact; 1 notice to 1 customer; nobody contacted after: 0/1

Telegram only: contacts c03 c04 c07 c09 = 4; containment 1/4; handoff rate 3/4;
    abandonment 0/(3-1) = 0; first replies 30 90: median 60, p90 90; service level 1/2;
    CSAT 5 4: mean 4.5, response 2/2.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.desk_events import DeskFact, EventKind
from bot.storage.ops_tables import DeskEvent, IncidentRecord

K = EventKind
INCIDENT_TITLES = {
    3: "Epidemic control measures in Wuhan: deliveries restricted",
    4: "ZTO Express: sorting-centre system failure",
}


def _at(day: date, offset_days: int, clock: str, seconds: float = 0) -> datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    moment = datetime.combine(day + timedelta(days=offset_days), time(hour, minute))
    return moment.replace(tzinfo=SHOP_TIMEZONE) + timedelta(seconds=seconds)


def _contact(
    first: date,
    cid: str,
    channel: str,
    day: int,
    clock: str,
    account: int | None,
    topic: str | None,
) -> list[DeskFact]:
    opened = _at(first, day, clock)
    common: dict[str, Any] = {"conversation_id": cid, "channel": channel, "account_id": account}
    facts = [DeskFact(K.OPENED, opened, **common)]
    if topic is not None:
        facts.append(DeskFact(K.INTENT, opened + timedelta(seconds=5), intent=topic, **common))
    return facts


def _bot_to_the_end(first: date, cid: str, channel: str, day: int, clock: str) -> DeskFact:
    return DeskFact(K.BOT_RESOLVED, _at(first, day, clock, 40 * 60), cid, channel)


def _handoff(
    first: date,
    cid: str,
    channel: str,
    day: int,
    clock: str,
    *,
    handoff_id: int,
    after: float,
    incident: int | None = None,
) -> DeskFact:
    return DeskFact(
        K.HANDED_OFF,
        _at(first, day, clock, after),
        cid,
        channel,
        handoff_id=handoff_id,
        incident_id=incident,
    )


def _answered(
    first: date,
    cid: str,
    channel: str,
    day: int,
    clock: str,
    *,
    handoff_id: int,
    handed_after: float,
    reply: float,
    resolved: float,
    rating: int | None,
) -> list[DeskFact]:
    """Reply `reply` s after the handoff, resolved `resolved` s after opening, surveyed."""
    ids: dict[str, Any] = {"handoff_id": handoff_id, "agent_id": 1}
    at = _at(first, day, clock)
    facts = [
        DeskFact(
            K.AGENT_FIRST_REPLY,
            at + timedelta(seconds=handed_after + reply),
            cid,
            channel,
            value=reply,
            **ids,
        ),
        DeskFact(K.RESOLVED, at + timedelta(seconds=resolved), cid, channel, value=resolved, **ids),
        DeskFact(K.SURVEY_SENT, at + timedelta(seconds=resolved), cid, channel, **ids),
    ]
    if rating is not None:
        rated_at = at + timedelta(seconds=resolved + 30)
        facts.append(DeskFact(K.RATED, rated_at, cid, channel, value=float(rating), **ids))
    return facts


def desk_facts(first: date) -> list[DeskFact]:
    """The events of the table above; `first` is day D."""
    d = first
    facts: list[DeskFact] = []
    facts += _contact(d, "c00", "webchat", -7, "12:00", 30, "order_status")
    facts.append(_bot_to_the_end(d, "c00", "webchat", -7, "12:00"))
    facts += _contact(d, "c01", "webchat", 0, "09:00", 11, "order_status")
    facts.append(_bot_to_the_end(d, "c01", "webchat", 0, "09:00"))
    facts += _contact(d, "c02", "webchat", 0, "09:30", 12, "order_status")
    facts.append(_bot_to_the_end(d, "c02", "webchat", 0, "09:30"))
    facts += _contact(d, "c03", "telegram", 0, "10:00", 13, "delivery_delay")
    facts.append(_handoff(d, "c03", "telegram", 0, "10:00", handoff_id=1, after=60, incident=3))
    facts += _answered(
        d, "c03", "telegram", 0, "10:00",
        handoff_id=1, handed_after=60, reply=30, resolved=900, rating=5,
    )  # fmt: skip
    facts += _contact(d, "c04", "telegram", 0, "11:00", 14, "delivery_delay")
    facts.append(_handoff(d, "c04", "telegram", 0, "11:00", handoff_id=2, after=120, incident=3))
    facts += _answered(
        d, "c04", "telegram", 0, "11:00",
        handoff_id=2, handed_after=120, reply=90, resolved=1200, rating=4,
    )  # fmt: skip
    facts += _contact(d, "c05", "api", 0, "14:00", None, "return_request")
    facts.append(_bot_to_the_end(d, "c05", "api", 0, "14:00"))
    facts += _contact(d, "c06", "webchat", 1, "09:15", 16, "refund_status")
    facts.append(_handoff(d, "c06", "webchat", 1, "09:15", handoff_id=3, after=60))
    facts.append(
        DeskFact(K.ABANDONED, _at(d, 1, "09:15", 300), "c06", "webchat", handoff_id=3, value=240)
    )
    facts += _contact(d, "c07", "telegram", 1, "10:00", 17, None)
    facts.append(_handoff(d, "c07", "telegram", 1, "10:00", handoff_id=4, after=30))
    facts.append(
        DeskFact(K.CALLBACK, _at(d, 1, "10:00", 150), "c07", "telegram", handoff_id=4, value=120)
    )
    facts += _contact(d, "c08", "webchat", 1, "10:30", 18, "complain")
    facts.append(_handoff(d, "c08", "webchat", 1, "10:30", handoff_id=5, after=60))
    facts += _answered(
        d, "c08", "webchat", 1, "10:30",
        handoff_id=5, handed_after=60, reply=45, resolved=600, rating=2,
    )  # fmt: skip
    facts += _contact(d, "c09", "telegram", 1, "20:00", 13, "delivery_delay")
    facts.append(
        DeskFact(K.INCIDENT_CONTACT, _at(d, 1, "20:00", 20), "c09", "telegram", incident_id=3)
    )
    facts.append(_bot_to_the_end(d, "c09", "telegram", 1, "20:00"))
    facts += _contact(d, "c10", "webchat", 1, "21:00", 20, "order_status")
    facts.append(_handoff(d, "c10", "webchat", 1, "21:00", handoff_id=6, after=60))
    facts += _answered(
        d, "c10", "webchat", 1, "21:00",
        handoff_id=6, handed_after=60, reply=150, resolved=1500, rating=None,
    )  # fmt: skip
    for account in (13, 21, 22):
        facts.append(
            DeskFact(
                K.NOTICE_SENT, _at(d, 0, "08:00"), f"n3-{account}", "telegram",
                incident_id=3, account_id=account,
            )
        )  # fmt: skip
    facts.append(
        DeskFact(
            K.NOTICE_SENT, _at(d, 1, "12:00"), "n4-23", "telegram", incident_id=4, account_id=23
        )
    )
    return facts


# The document's numbers for days D..D+1, all channels, service level 60 s / 80 %.
EXPECTED_FIGURES: dict[str, Any] = {
    "contacts": 10,
    "containment": (0.4, 4, 10),
    "handoff_rate": (0.6, 6, 10),
    "abandonment": (0.2, 1, 5),
    "first_response_seconds": (4, 67.5, 150.0),
    "resolution_seconds": (4, 1050.0, 1500.0),
    "service_level": (0.4, 2, 5),
    "csat_mean": 3.67,
    "csat_distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    "csat_response_rate": (0.75, 3, 4),
}
EXPECTED_INTENTS = [
    ("delivery_delay", 3),
    ("order_status", 3),
    ("complain", 1),
    ("refund_status", 1),
    ("return_request", 1),
    ("none", 1),
]
EXPECTED_CHANNELS = [("webchat", 5), ("telegram", 4), ("api", 1)]
EXPECTED_HOURS = {9: 3, 10: 3, 11: 1, 14: 1, 20: 1, 21: 1}
EXPECTED_DAYS = [(0, 5, 3, 2), (1, 5, 1, 4)]  # day offset, contacts, bot, handed off
EXPECTED_INCIDENTS = [
    # id, contacts, notices, customers notified, contacts after, customers after, share
    (3, 3, 3, 3, 2, 1, 0.3333),
    (4, 0, 1, 1, 0, 0, 0.0),
]


def store_desk(session: Session, first: date) -> None:
    """The events as rows of the desk's table, and the two incidents they name."""
    for incident_id, title in INCIDENT_TITLES.items():
        session.add(
            IncidentRecord(
                id=incident_id,
                kind="carrier_outage",
                title=title,
                severity=2,
                status="identified",
                regions=[],
                carriers=[],
                customer_note="",
                internal_note="",
                started_at=_at(first, -1, "08:00"),
                updated_at=_at(first, -1, "08:00"),
            )
        )
    session.add_all(DeskEvent(**asdict(fact)) for fact in desk_facts(first))
    session.flush()
