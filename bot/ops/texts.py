"""How the ops desk's answers read in a chat: short lines an ops lead can scan on a phone,
times in the shop's zone, counts with thousands separators."""

from __future__ import annotations

import math
from datetime import datetime

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incident_changes import IncidentChange, IncidentDraft, describe_change
from bot.domain.incidents import Incident
from bot.handoff.queue import QueueSnapshot
from bot.ops.desk import Audience, IncidentFigures, IncidentReport

_STATUS_WORDS = {
    "pending_payment": "awaiting payment",
    "out_for_delivery": "out for delivery",
    "in_transit": "in transit",
}


def moment(value: datetime | None) -> str:
    return f"{value.astimezone(SHOP_TIMEZONE):%a %-d %b %H:%M}" if value else "not known"


def age(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def audience_line(audience: Audience) -> str:
    return f"{audience.orders:,} open orders of {audience.customers:,} customers are in scope"


def incident_line(figures: IncidentFigures, *, now: datetime) -> str:
    incident = figures.incident
    return (
        f"#{incident.id} {incident.title}\n"
        f"  {incident.kind.label}, severity {incident.severity}, {incident.status.value}; "
        f"scope: {incident.scope_text}\n"
        f"  open {age(incident.started_at, now)}, expected back "
        f"{moment(incident.expected_recovery)}\n"
        f"  {_affected(figures.audience)}; "
        f"{figures.contacts_last_hour} customer contacts about it in the last hour"
    )


def _affected(audience: Audience | None) -> str:
    if audience is None:
        return "open orders affected: unknown (the shop's system didn't answer)"
    return f"{audience.orders:,} open orders affected"


def incident_list(figures: list[IncidentFigures], *, now: datetime) -> str:
    if not figures:
        return "No incident is active right now."
    head = "1 active incident:" if len(figures) == 1 else f"{len(figures)} active incidents:"
    return "\n\n".join([head, *(incident_line(item, now=now) for item in figures)])


def incident_report(report: IncidentReport, *, now: datetime) -> str:
    figures, incident = report.figures, report.figures.incident
    counts = figures.audience.by_status if figures.audience else {}
    by_status = ", ".join(
        f"{count:,} {_STATUS_WORDS.get(status.value, status.value)}"
        for status, count in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    handoffs = sum(report.handoffs.values())
    waiting = report.handoffs.get("waiting", 0)
    lines = [
        f"Incident #{incident.id}: {incident.title}",
        f"{incident.kind.label}, severity {incident.severity}, {incident.status.value}",
        f"Scope: {incident.scope_text}",
        f"Started {moment(incident.started_at)} ({age(incident.started_at, now)} ago); "
        f"expected back {moment(incident.expected_recovery)}"
        + (f"; resolved {moment(incident.resolved_at)}" if incident.resolved_at else ""),
        _affected(figures.audience).capitalize() + (f" ({by_status})" if by_status else ""),
        f"Customer contacts about it in the last hour: {figures.contacts_last_hour}",
        f"Handoffs about it: {handoffs} ({waiting} waiting)",
        "Notices to customers: " + (report.notices.describe() if report.notices else "none sent"),
        f"Customers are told: {incident.customer_note}",
    ]
    if incident.internal_note:
        lines.append(f"Internal note: {incident.internal_note}")
    if report.timeline:
        lines.append("Latest timeline:")
        lines.extend(
            f"  {moment(entry.at)} {entry.author}: {entry.summary}" for entry in report.timeline
        )
    return "\n".join(lines)


def queue_report(queue: QueueSnapshot, *, handoffs_last_hour: int, now: datetime) -> str:
    waiting = len(queue.waiting)
    longest = max((now - handoff.enqueued_at for handoff in queue.waiting), default=None)
    expected = queue.expected_wait_for_new_arrival()
    free = max(0, queue.slots - queue.busy_slots)
    lines = [
        f"Waiting: {waiting}" + (f", longest {age(now - longest, now)}" if longest else ""),
        f"Agents available: {queue.agents_available} ({queue.busy_slots} of {queue.slots} "
        f"chat slots busy, {free} free)",
        "Expected wait for a new handoff: "
        + ("no agent is available" if expected is None else f"about {math.ceil(expected)} min"),
        "Surge: " + (f"yes ({', '.join(queue.surge.reasons)})" if queue.surge.active else "no"),
        f"Handoffs in the last hour: {handoffs_last_hour}",
    ]
    return "\n".join(lines)


def draft_preview(draft: IncidentDraft, audience: Audience | None) -> str:
    reach = (
        audience_line(audience)
        if audience is not None
        else "I couldn't count the orders in scope (the shop's system didn't answer)"
    )
    return (
        f"Declare this incident?\n"
        f"{draft.title}\n"
        f"{draft.kind.label}, severity {draft.severity}, {draft.status.value}\n"
        f"Scope: {', '.join((*draft.regions, *draft.carriers))}\n"
        f"Since {moment(draft.started_at)}, expected back {moment(draft.expected_recovery)}\n"
        f"Customers will be told: {draft.customer_note}\n"
        f"{reach}."
    )


def change_preview(incident: Incident, change: IncidentChange) -> str:
    summary, _ = describe_change(incident, change)
    return f"Change incident #{incident.id} ({incident.title})?\n{summary}."


def declared(incident: Incident, audience: Audience | None) -> str:
    reach = f" {audience_line(audience)}." if audience is not None else ""
    return (
        f"Declared incident #{incident.id}: {incident.title}. Customers asking about orders "
        f"in scope now hear its note, and the queue counts it.{reach}"
    )


def notify_offer(incident: Incident, reachable: int, affected: Audience | None) -> str:
    of = f" (of {affected.customers:,} with open orders in scope)" if affected else ""
    return (
        f"Notify affected customers? {reachable:,} customers can be reached{of}: "
        f"Telegram now, the web chat when they next open it. One notice each about "
        f"incident #{incident.id}."
    )


def notices_queued(incident: Incident, count: int) -> str:
    if not count:
        return "Nobody in scope can be reached, so no notice was sent."
    return (
        f"Sending {count:,} notices about incident #{incident.id}. Ask for the status of "
        f"incident {incident.id} to see how far they've got."
    )


def changed(incident: Incident, summary: str) -> str:
    if incident.resolved_at is not None:
        return f"Incident #{incident.id} is resolved. Customers no longer hear its note."
    return f"Incident #{incident.id} updated: {summary}."
