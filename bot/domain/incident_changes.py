"""What may be declared and changed about an incident, and how a change reads in its
timeline. Pure rules: the storage applies them, the ops chat previews them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incidents import (
    MAX_NOTE_CHARS,
    MAX_TITLE_CHARS,
    SEVERITIES,
    Incident,
    IncidentKind,
    IncidentStatus,
)


@dataclass(frozen=True)
class IncidentDraft:
    kind: IncidentKind
    title: str
    severity: int
    regions: tuple[str, ...]
    carriers: tuple[str, ...]
    customer_note: str
    started_at: datetime
    expected_recovery: datetime | None = None
    status: IncidentStatus = IncidentStatus.IDENTIFIED
    internal_note: str = ""
    orders_from: date | None = None
    orders_to: date | None = None
    resolved_at: datetime | None = None  # only for incidents recorded after the fact


@dataclass(frozen=True)
class IncidentChange:
    """What an update sets; None leaves a field as it is. Resolving is status RESOLVED."""

    severity: int | None = None
    status: IncidentStatus | None = None
    expected_recovery: datetime | None = None
    customer_note: str | None = None
    internal_note: str | None = None

    @property
    def is_empty(self) -> bool:
        return all(
            value is None
            for value in (
                self.severity,
                self.status,
                self.expected_recovery,
                self.customer_note,
                self.internal_note,
            )
        )

    @property
    def changes_what_customers_hear(self) -> bool:
        """An update worth telling the affected customers about."""
        return (
            self.expected_recovery is not None
            or self.customer_note is not None
            or self.status is IncidentStatus.RESOLVED
        )


def draft_problems(draft: IncidentDraft, *, now: datetime) -> list[str]:
    """Why a draft cannot be declared, in words for the ops person; empty when it can."""
    problems = []
    if draft.severity not in SEVERITIES:
        problems.append("the severity must be 1 to 4")
    if not draft.regions and not draft.carriers:
        problems.append("the scope needs at least one region or carrier")
    if not draft.title.strip() or len(draft.title) > MAX_TITLE_CHARS:
        problems.append(f"the title needs 1 to {MAX_TITLE_CHARS} characters")
    if not draft.customer_note.strip() or len(draft.customer_note) > MAX_NOTE_CHARS:
        problems.append(f"the customer note needs 1 to {MAX_NOTE_CHARS} characters")
    if draft.started_at > now:
        problems.append("the start can't be in the future")
    if draft.expected_recovery is not None and draft.expected_recovery <= draft.started_at:
        problems.append("the expected recovery must come after the start")
    if draft.orders_from and draft.orders_to and draft.orders_from > draft.orders_to:
        problems.append("the order dates are the wrong way round")
    return problems


def change_problems(incident: Incident, change: IncidentChange, *, now: datetime) -> list[str]:
    problems = []
    if incident.status is IncidentStatus.RESOLVED:
        problems.append(f"incident {incident.id} is already resolved")
    if change.severity is not None and change.severity not in SEVERITIES:
        problems.append("the severity must be 1 to 4")
    if change.expected_recovery is not None and change.expected_recovery <= now:
        problems.append("the new estimate must be in the future")
    for note in (change.customer_note, change.internal_note):
        if note is not None and (not note.strip() or len(note) > MAX_NOTE_CHARS):
            problems.append(f"a note needs 1 to {MAX_NOTE_CHARS} characters")
    if change.is_empty:
        problems.append("nothing to change")
    return problems


def _moment(value: datetime | None) -> str:
    return f"{value.astimezone(SHOP_TIMEZONE):%a %-d %b %H:%M}" if value else "none"


def describe_change(before: Incident, change: IncidentChange) -> tuple[str, dict[str, list[str]]]:
    """The timeline's words for a change, and field -> [before, after] for what really
    changes (setting a value it already has is not a change)."""
    pairs: dict[str, tuple[str, str]] = {}
    if change.severity is not None and change.severity != before.severity:
        pairs["severity"] = (str(before.severity), str(change.severity))
    if change.status is not None and change.status is not before.status:
        pairs["status"] = (before.status.value, change.status.value)
    recovery = change.expected_recovery
    if recovery is not None and recovery != before.expected_recovery:
        pairs["expected recovery"] = (_moment(before.expected_recovery), _moment(recovery))
    if change.customer_note is not None and change.customer_note != before.customer_note:
        pairs["customer note"] = (before.customer_note, change.customer_note)
    if change.internal_note is not None and change.internal_note != before.internal_note:
        pairs["internal note"] = (before.internal_note, change.internal_note)
    words = []
    for name, (old, new) in pairs.items():
        if name.endswith("note"):
            words.append(f"new {name}")
        elif name == "status" and new == IncidentStatus.RESOLVED.value:
            words.append("resolved")
        elif old == "none":
            words.append(f"{name} set to {new}")
        else:
            words.append(f"{name} {old} → {new}")
    summary = "; ".join(words)
    summary = summary[:1].upper() + summary[1:]
    return summary, {name: [old, new] for name, (old, new) in pairs.items()}
