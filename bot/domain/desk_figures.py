"""The managers' figures, computed from the desk's recorded events and nothing else.

A report follows a cohort: the contacts opened in the period (and channel), with
everything that happened to them, even after the period ended. So "of last week's
contacts, 70 % ended without a person" stays true as the week's last contacts are
settled, and no rate can pass 100 % by counting an ending whose beginning fell in
another period. Notices are the exception: they are counted when they were sent.

Medians and percentiles are stated in FORMULAS, because "the 90th percentile" has
several definitions and a manager comparing tools needs to know which one this is.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo

from bot.domain.desk_events import DeskFact, EventKind
from bot.domain.report_period import CHANNELS, ReportPeriod

NO_TOPIC = "none"

_PERCENTILES = (
    "Median: the middle value (the mean of the two middle values when there is an even "
    "number). p90: the nearest-rank 90th percentile, the ⌈0.9 × n⌉-th smallest value."
)
FORMULAS = {
    "contacts": (
        "Conversations in which the customer wrote at least once, counted by the time of "
        "their first message. Staff conversations with the bot are not contacts."
    ),
    "containment": (
        "Contacts that ended without a person (closed after the idle timeout, never handed "
        "off) ÷ contacts."
    ),
    "handoff_rate": "Contacts handed to a person at least once ÷ contacts.",
    "abandonment": (
        "Handoffs whose customer left the queue before an agent answered ÷ "
        "(handoffs − call-back requests)."
    ),
    "first_response": (
        "Time from the handoff to the agent's first message, per handoff an agent answered. "
        + _PERCENTILES
    ),
    "resolution": (
        "Time from the contact's first message to the end of the agent's part (closed, or "
        "handed back to the bot), per handoff an agent ended. " + _PERCENTILES
    ),
    "service_level": (
        "Handoffs whose agent's first message came within {threshold} s ÷ (handoffs − "
        "call-back requests). Abandoned handoffs and those still waiting count as not "
        "answered in time; call-backs count in neither. Target: {target} %."
    ),
    "csat": (
        "Mean of the 1–5 ratings customers gave an agent's help, and how many gave each score."
    ),
    "csat_response_rate": (
        "Ratings ÷ rating questions sent (one after every conversation an agent closed, and "
        "after a hand-back once the bot has answered again)."
    ),
    "by_intent": (
        "Contacts by the first topic the bot recognised in them; greetings, thanks, yes/no "
        "and order details are no topic. 'none': the bot recognised no topic."
    ),
    "by_channel": "Contacts by the channel they came on.",
    "by_hour": "Contacts by the hour of their first message, shop time.",
    "by_day": (
        "Contacts by the day of their first message, shop time, with those that ended "
        "without a person and those handed to a person."
    ),
    "incident_contacts": (
        "Contacts tied to the incident: the bot's answer named it, or the contact was "
        "handed to a person about an order it holds."
    ),
    "notices": "Notices about the incident sent in the period, and the customers they reached.",
    "contacts_after_notice": (
        "Contacts from notified customers opened after their first notice about the incident."
    ),
    "share_contacted_after": (
        "Notified customers who still contacted us after the notice ÷ customers notified: "
        "the lower, the more questions the notice answered before they were asked."
    ),
}


@dataclass(frozen=True)
class ServiceLevelRule:
    """The "80/20" rule: `target` of handoffs answered within `threshold_seconds`."""

    threshold_seconds: float
    target: float


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class Durations:
    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Csat:
    mean: float | None
    distribution: dict[int, int]  # score 1-5 -> ratings
    response_rate: Rate  # ratings / surveys sent


@dataclass(frozen=True)
class DayCounts:
    day: date
    contacts: int
    bot_resolved: int
    handed_off: int


@dataclass(frozen=True)
class IncidentFigures:
    incident_id: int
    contacts: int
    notices_sent: int
    customers_notified: int
    contacts_after_notice: int
    contacted_after: Rate  # customers who contacted after / customers notified


@dataclass(frozen=True)
class DeskFigures:
    contacts: int
    containment: Rate
    handoff_rate: Rate
    handoffs: int
    callbacks: int
    abandonment: Rate
    first_response: Durations
    resolution: Durations
    service_level: Rate
    csat: Csat
    by_intent: list[tuple[str, int]]
    by_channel: list[tuple[str, int]]
    by_hour: list[int]
    by_day: list[DayCounts]
    incidents: list[IncidentFigures]


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The ⌈percent/100 × n⌉-th smallest value: always one of the values themselves."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return float(ordered[rank - 1])


def durations(values: Sequence[float]) -> Durations:
    return Durations(count=len(values), median=median(values), p90=nearest_rank(values, 90))


class _Cohort:
    """The contacts opened in the period and channel, and every event of theirs."""

    def __init__(self, facts: Sequence[DeskFact], period: ReportPeriod) -> None:
        self.opened: dict[str, DeskFact] = {}
        for fact in sorted(facts, key=lambda f: f.at):
            if (
                fact.kind == EventKind.OPENED
                and fact.conversation_id is not None
                and fact.conversation_id not in self.opened
                and period.start <= fact.at < period.end
                and (period.channel is None or fact.channel == period.channel)
            ):
                self.opened[fact.conversation_id] = fact
        self.events: dict[str, list[DeskFact]] = defaultdict(list)
        for fact in sorted(facts, key=lambda f: f.at):
            if fact.conversation_id in self.opened:
                self.events[fact.conversation_id].append(fact)

    def of_kind(self, kind: EventKind) -> list[DeskFact]:
        return [fact for events in self.events.values() for fact in events if fact.kind == kind]

    def conversations_with(self, kind: EventKind) -> set[str]:
        return {fact.conversation_id for fact in self.of_kind(kind) if fact.conversation_id}

    def topic(self, conversation_id: str) -> str:
        intents = [f.intent for f in self.events[conversation_id] if f.kind == EventKind.INTENT]
        return next((intent for intent in intents if intent), NO_TOPIC)


def _values(facts: Iterable[DeskFact]) -> list[float]:
    return [fact.value for fact in facts if fact.value is not None]


def _csat(cohort: _Cohort) -> Csat:
    scores = [int(value) for value in _values(cohort.of_kind(EventKind.RATED))]
    counted = Counter(scores)
    return Csat(
        mean=statistics.fmean(scores) if scores else None,
        distribution={score: counted.get(score, 0) for score in range(1, 6)},
        response_rate=Rate(len(scores), len(cohort.of_kind(EventKind.SURVEY_SENT))),
    )


def _by_channel(cohort: _Cohort) -> list[tuple[str, int]]:
    counted = Counter(fact.channel or "unknown" for fact in cohort.opened.values())
    others = sorted(name for name in counted if name not in CHANNELS)
    return [(name, counted.get(name, 0)) for name in (*CHANNELS, *others)]


def _by_intent(cohort: _Cohort) -> list[tuple[str, int]]:
    counted = Counter(cohort.topic(conversation_id) for conversation_id in cohort.opened)
    topics = sorted((item for item in counted.items() if item[0] != NO_TOPIC), key=_most_first)
    return [*topics, *([(NO_TOPIC, counted[NO_TOPIC])] if NO_TOPIC in counted else [])]


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def _by_day(cohort: _Cohort, period: ReportPeriod, zone: tzinfo) -> list[DayCounts]:
    resolved = cohort.conversations_with(EventKind.BOT_RESOLVED)
    handed = cohort.conversations_with(EventKind.HANDED_OFF)
    days: dict[date, list[str]] = defaultdict(list)
    for conversation_id, fact in cohort.opened.items():
        days[fact.at.astimezone(zone).date()].append(conversation_id)
    first = period.start.astimezone(zone).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(zone).date()
    return [
        DayCounts(
            day=first + timedelta(days=offset),
            contacts=len(days[first + timedelta(days=offset)]),
            bot_resolved=len(resolved.intersection(days[first + timedelta(days=offset)])),
            handed_off=len(handed.intersection(days[first + timedelta(days=offset)])),
        )
        for offset in range((last - first).days + 1)
    ]


def _incidents(
    cohort: _Cohort, facts: Sequence[DeskFact], period: ReportPeriod
) -> list[IncidentFigures]:
    tied: dict[int, set[str]] = defaultdict(set)
    for conversation_id, events in cohort.events.items():
        for fact in events:
            if fact.incident_id is not None:
                tied[fact.incident_id].add(conversation_id)
    notices = [
        fact
        for fact in facts
        if fact.kind == EventKind.NOTICE_SENT
        and fact.incident_id is not None
        and period.start <= fact.at < period.end
        and (period.channel is None or fact.channel == period.channel)
    ]
    first_notice: dict[int, dict[int, DeskFact]] = defaultdict(dict)
    for notice in sorted(notices, key=lambda f: f.at):
        assert notice.incident_id is not None
        if notice.account_id is not None:
            first_notice[notice.incident_id].setdefault(notice.account_id, notice)
    figures = []
    for incident_id in sorted({*tied, *(n.incident_id for n in notices if n.incident_id)}):
        notified = first_notice[incident_id]
        after = [
            opened
            for opened in cohort.opened.values()
            if opened.account_id in notified and opened.at > notified[opened.account_id].at
        ]
        figures.append(
            IncidentFigures(
                incident_id=incident_id,
                contacts=len(tied[incident_id]),
                notices_sent=sum(1 for notice in notices if notice.incident_id == incident_id),
                customers_notified=len(notified),
                contacts_after_notice=len(after),
                contacted_after=Rate(len({opened.account_id for opened in after}), len(notified)),
            )
        )
    return figures


def compute_figures(
    facts: Sequence[DeskFact], *, period: ReportPeriod, rule: ServiceLevelRule, zone: tzinfo
) -> DeskFigures:
    """`facts` may hold more than the cohort (the storage narrows the read, not the rule)."""
    cohort = _Cohort(facts, period)
    contacts = len(cohort.opened)
    handoffs = len(cohort.of_kind(EventKind.HANDED_OFF))
    callbacks = len(cohort.of_kind(EventKind.CALLBACK))
    first_replies = _values(cohort.of_kind(EventKind.AGENT_FIRST_REPLY))
    in_time = sum(1 for seconds in first_replies if seconds <= rule.threshold_seconds)
    hours = Counter(fact.at.astimezone(zone).hour for fact in cohort.opened.values())
    return DeskFigures(
        contacts=contacts,
        containment=Rate(len(cohort.conversations_with(EventKind.BOT_RESOLVED)), contacts),
        handoff_rate=Rate(len(cohort.conversations_with(EventKind.HANDED_OFF)), contacts),
        handoffs=handoffs,
        callbacks=callbacks,
        abandonment=Rate(len(cohort.of_kind(EventKind.ABANDONED)), handoffs - callbacks),
        first_response=durations(first_replies),
        resolution=durations(_values(cohort.of_kind(EventKind.RESOLVED))),
        service_level=Rate(in_time, handoffs - callbacks),
        csat=_csat(cohort),
        by_intent=_by_intent(cohort),
        by_channel=_by_channel(cohort),
        by_hour=[hours.get(hour, 0) for hour in range(24)],
        by_day=_by_day(cohort, period, zone),
        incidents=_incidents(cohort, facts, period),
    )
