"""A declaration or an update in the making, kept between turns in the `ops_pending` slot
as plain JSON: what the ops person said so far, what is still missing, and the next
question. No framework here, so every step of the dialogue is unit-tested on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.incident_changes import IncidentChange, IncidentDraft
from bot.domain.incident_text import (
    IncidentFacts,
    find_incidents,
    parse_moment,
    parse_severity,
    read_incident_facts,
    suggested_customer_note,
    suggested_title,
)
from bot.domain.incidents import MAX_NOTE_CHARS, Incident, IncidentKind, IncidentStatus

UNKNOWN = "unknown"
USE_SUGGESTED = "use the suggested note"
_STOP = re.compile(r"^\s*(cancel|stop|never ?mind|forget it|abort|quit)\b", re.IGNORECASE)
_UNKNOWN = re.compile(
    r"\b(unknown|not known|don'?t know|not sure|no idea|no estimate|tbd)\b", re.IGNORECASE
)
_SAME_AS_SUGGESTED = re.compile(
    rf"^\s*({USE_SUGGESTED}|use it|use that|yes|ok|okay|fine|looks good)\W*$", re.IGNORECASE
)
_ESTIMATE = re.compile(r"\b(estimate|eta|recovery|back|until|ends?|lasts?)\b", re.IGNORECASE)
_INTERNAL_NOTE = re.compile(r"\binternal note\s*:\s*(.+)$", re.IGNORECASE | re.DOTALL)
_KIND_BUTTONS = [
    ("Regional lockdown", "regional lockdown"),
    ("Carrier outage", "carrier outage"),
    ("Weather", "weather"),
    ("Warehouse", "warehouse"),
]
_KIND_WORDS = {
    IncidentKind.REGIONAL_LOCKDOWN: ("lockdown", "regional"),
    IncidentKind.CARRIER_OUTAGE: ("outage", "carrier"),
    IncidentKind.WEATHER: ("weather",),
    IncidentKind.WAREHOUSE: ("warehouse",),
}


@dataclass(frozen=True)
class Question:
    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)
    choices: list[Incident] = field(default_factory=list)  # incidents to pick from


@dataclass(frozen=True)
class Folded:
    plan: dict[str, Any]
    problem: str | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value != UNKNOWN else None


def is_stop(text: str) -> bool:
    return bool(_STOP.search(text))


def declaration_from(
    text: str, *, now: datetime, regions: Sequence[str], carriers: Sequence[str]
) -> dict[str, Any]:
    facts = read_incident_facts(text, now=now, regions=regions, carriers=carriers)
    return {
        "kind": "declare",
        "incident_kind": facts.kind.value if facts.kind else None,
        "regions": list(facts.regions),
        "carriers": list(facts.carriers),
        "severity": facts.severity,
        "started_at": _iso(facts.started_at),
        "expected_recovery": _iso(facts.expected_recovery),
        "customer_note": facts.customer_note,
    }


def update_from(
    text: str,
    active: Sequence[Incident],
    *,
    resolving: bool,
    now: datetime,
    regions: Sequence[str],
    carriers: Sequence[str],
) -> dict[str, Any]:
    facts = read_incident_facts(text, now=now, regions=regions, carriers=carriers)
    matches = find_incidents(text, active)
    plan: dict[str, Any] = {
        "kind": "update",
        "incident_id": matches[0].id if len(matches) == 1 else None,
        "candidates": [incident.id for incident in (matches or active)],
    }
    plan.update(_changes(text, facts, resolving=resolving or facts.resolve, now=now))
    return plan


def _changes(text: str, facts: IncidentFacts, *, resolving: bool, now: datetime) -> dict[str, Any]:
    internal = _INTERNAL_NOTE.search(text)
    status = IncidentStatus.RESOLVED if resolving else facts.status
    recovery = facts.expected_recovery
    if recovery is None and _ESTIMATE.search(text):
        # "new estimate for the lockdown: Friday 12:00": the time is not next to the word.
        recovery = parse_moment(text, now=now)
        recovery = recovery if recovery is not None and recovery > now else None
    return {
        key: value
        for key, value in {
            "severity": facts.severity,
            "status": status.value if status else None,
            "expected_recovery": _iso(recovery),
            "customer_note": None if internal else facts.customer_note,
            "internal_note": internal.group(1).strip()[:MAX_NOTE_CHARS] if internal else None,
        }.items()
        if value is not None
    }


def _facts_of(plan: dict[str, Any]) -> IncidentFacts:
    kind = plan.get("incident_kind")
    return IncidentFacts(
        kind=IncidentKind(kind) if kind else None,
        regions=tuple(plan.get("regions") or ()),
        carriers=tuple(plan.get("carriers") or ()),
        severity=plan.get("severity"),
        started_at=_when(plan.get("started_at")),
        expected_recovery=_when(plan.get("expected_recovery")),
    )


_CHANGE_KEYS = ("severity", "status", "expected_recovery", "customer_note", "internal_note")


def missing(plan: dict[str, Any]) -> list[str]:
    if plan.get("kind") == "update":
        gaps = [] if plan.get("incident_id") else ["incident_id"]
        return gaps + ([] if any(plan.get(key) for key in _CHANGE_KEYS) else ["change"])
    gaps = []
    if not plan.get("incident_kind"):
        gaps.append("incident_kind")
    if not plan.get("regions") and not plan.get("carriers"):
        gaps.append("scope")
    for key in ("severity", "expected_recovery", "customer_note"):
        if plan.get(key) is None:
            gaps.append(key)
    return gaps


def next_question(plan: dict[str, Any], *, active: Sequence[Incident], now: datetime) -> Question:
    gap = next(iter(missing(plan)), None)
    if gap == "incident_id":
        offered = [i for i in active if i.id in plan.get("candidates", [])] or list(active)
        return Question("Which incident?", choices=offered)
    if gap == "change":
        return Question(
            "What changes? For example: 'new estimate Monday 18:00', 'severity 3', "
            "'status monitoring', 'note: <what customers hear>', 'internal note: <…>', "
            "or 'resolve'."
        )
    if gap == "incident_kind":
        return Question("What kind of incident is it?", buttons=_KIND_BUTTONS)
    if gap == "scope":
        return Question("Which regions or carriers does it hit? For example 'Hubei' or 'SF'.")
    if gap == "severity":
        return Question(
            "How severe is it, 1 to 4? (1 a local fault, 2 one carrier or region, "
            "3 several regions or days, 4 a major disaster)",
            buttons=[(str(level), str(level)) for level in range(1, 5)],
        )
    if gap == "expected_recovery":
        return Question(
            "When do you expect it to be over? For example 'Friday 18:00' or 'in 2 days'.",
            buttons=[("Not known yet", UNKNOWN)],
        )
    suggestion = suggested_customer_note(_facts_of(plan))
    if suggestion:
        return Question(
            f'What should customers be told? Suggested:\n"{suggestion}"',
            buttons=[("Use the suggested note", USE_SUGGESTED)],
        )
    return Question("What should customers be told about it?")


def fold_answer(
    plan: dict[str, Any],
    answer: str,
    *,
    now: datetime,
    regions: Sequence[str],
    carriers: Sequence[str],
    active: Sequence[Incident],
) -> Folded:
    """The plan with the answer to its first gap in it, or the same plan and why not."""
    gap = next(iter(missing(plan)), None)
    text = answer.strip()
    facts = read_incident_facts(text, now=now, regions=regions, carriers=carriers)
    new = dict(plan)
    if gap == "incident_id":
        offered = [i for i in active if i.id in plan.get("candidates", [])] or list(active)
        found = find_incidents(text, offered)
        if len(found) != 1:
            return Folded(plan, "Please pick one of the incidents with the buttons.")
        new["incident_id"] = found[0].id
    elif gap == "change":
        changes = _changes(text, facts, resolving=facts.resolve, now=now)
        if not changes and text and not facts.kind:
            changes = {"customer_note": text[:MAX_NOTE_CHARS]}  # a plain sentence is a note
        if not changes:
            return Folded(plan, "I didn't catch a change in that.")
        new.update(changes)
    elif gap == "incident_kind":
        kind = facts.kind or _kind_named(text)
        if kind is None:
            return Folded(plan, "Please pick one of the kinds.")
        new["incident_kind"] = kind.value
    elif gap == "scope":
        if not facts.regions and not facts.carriers:
            known = ", ".join([*regions, *carriers])
            return Folded(plan, f"I don't know that region or carrier. We deliver to: {known}.")
        new["regions"], new["carriers"] = list(facts.regions), list(facts.carriers)
    elif gap == "severity":
        severity = parse_severity(text)
        if severity is None:
            return Folded(plan, "Please give the severity as a number from 1 to 4.")
        new["severity"] = severity
    elif gap == "expected_recovery":
        if _UNKNOWN.search(text):
            new["expected_recovery"] = UNKNOWN
        else:
            moment = parse_moment(text, now=now)
            if moment is None or moment <= now:
                return Folded(plan, "Please give a time in the future, like 'Friday 18:00'.")
            new["expected_recovery"] = moment.isoformat()
    elif gap == "customer_note":
        suggestion = suggested_customer_note(_facts_of(plan))
        if suggestion and _SAME_AS_SUGGESTED.match(text):
            new["customer_note"] = suggestion
        elif not text or len(text) > MAX_NOTE_CHARS:
            return Folded(plan, f"The note needs 1 to {MAX_NOTE_CHARS} characters.")
        else:
            new["customer_note"] = text
    return Folded(new)


def _kind_named(text: str) -> IncidentKind | None:
    lowered = text.lower()
    named = [kind for kind, words in _KIND_WORDS.items() if any(w in lowered for w in words)]
    return named[0] if len(named) == 1 else None


def draft_of(plan: dict[str, Any], *, now: datetime) -> IncidentDraft:
    facts = _facts_of(plan)
    kind = facts.kind or IncidentKind.CARRIER_OUTAGE
    return IncidentDraft(
        kind=kind,
        title=suggested_title(facts) or kind.label.capitalize(),
        severity=int(plan.get("severity") or 0),
        regions=facts.regions,
        carriers=facts.carriers,
        customer_note=str(plan.get("customer_note") or ""),
        started_at=facts.started_at or now,
        expected_recovery=facts.expected_recovery,
    )


def change_of(plan: dict[str, Any]) -> IncidentChange:
    status = plan.get("status")
    return IncidentChange(
        severity=plan.get("severity"),
        status=IncidentStatus(status) if status else None,
        expected_recovery=_when(plan.get("expected_recovery")),
        customer_note=plan.get("customer_note"),
        internal_note=plan.get("internal_note"),
    )
