"""When a conversation goes to a person, who is served first, and whether we are in a surge.

The bot answers what it can; a person takes over when the customer asks for one, complains,
when the bot has failed to understand them twice in a row, or when policy says money or trust
at stake is too much for a bot (a quality claim above a value threshold). Under a surge (a
courier outage, a lockdown, a sales peak) the queue is ordered by who needs a person most,
with time waited always counting so that nobody starves. The waiting-time model itself lives
in `bot.domain.waiting`; `docs/handoff-model.md` explains both for operators.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class HandoffReason(StrEnum):
    CUSTOMER_ASKED = "customer_asked"
    COMPLAINT = "complaint"
    REPEATED_FALLBACK = "repeated_fallback"
    POLICY = "policy"


@dataclass(frozen=True)
class HandoffPolicy:
    """The shop's handoff and surge settings; the defaults suit a small shop in CNY."""

    on_request: bool = True
    on_complaint: bool = True
    on_repeated_fallback: bool = True
    fallbacks_before_handoff: int = 2
    claim_value_threshold: Decimal = Decimal("300")
    max_acceptable_wait_minutes: int = 10
    surge_rate_factor: float = 3.0
    surge_queue_length: int = 20
    surge_window_minutes: int = 15
    # Below this many arrivals in a window a rate ratio is noise: 4 chats against a normal 1
    # is "4x" but says nothing about a surge.
    surge_min_arrivals: int = 10

    def __post_init__(self) -> None:
        if self.fallbacks_before_handoff < 1:
            raise ValueError("fallbacks_before_handoff must be at least 1")
        if self.claim_value_threshold < 0:
            raise ValueError("claim_value_threshold cannot be negative")
        if self.max_acceptable_wait_minutes < 0:
            raise ValueError("max_acceptable_wait_minutes cannot be negative")
        if self.surge_rate_factor <= 1:
            raise ValueError("surge_rate_factor must be more than 1 (times the normal rate)")
        if self.surge_queue_length < 1 or self.surge_window_minutes < 1:
            raise ValueError("surge_queue_length and surge_window_minutes must be at least 1")
        if self.surge_min_arrivals < 0:
            raise ValueError("surge_min_arrivals cannot be negative")


def trigger_enabled(policy: HandoffPolicy, reason: HandoffReason) -> bool:
    """A policy handoff cannot be switched off: it exists because the rules demand a person."""
    return {
        HandoffReason.CUSTOMER_ASKED: policy.on_request,
        HandoffReason.COMPLAINT: policy.on_complaint,
        HandoffReason.REPEATED_FALLBACK: policy.on_repeated_fallback,
        HandoffReason.POLICY: True,
    }[reason]


def should_hand_off_after_fallbacks(policy: HandoffPolicy, consecutive_fallbacks: int) -> bool:
    """Counts only consecutive misses: one understood message shows the bot is back on track."""
    return policy.on_repeated_fallback and consecutive_fallbacks >= policy.fallbacks_before_handoff


def claim_needs_person(policy: HandoffPolicy, claim_value: Decimal) -> bool:
    """Claims strictly above the threshold are judged by a person; at or below, the bot's rules."""
    return claim_value > policy.claim_value_threshold


# --- Priority -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityWeights:
    """Head starts in minutes: an entry ranks as if it had already waited this much longer.

    Measuring every weight in minutes makes the rule explainable ("an incident-affected
    customer counts as if they had waited 15 minutes more") and bounds unfairness: no entry
    can be overtaken by one that arrived more than `max_head_start_minutes` after it.
    """

    verified: float = 5.0
    active_incident: float = 15.0
    complaint: float = 10.0
    policy: float = 10.0
    repeated_fallback: float = 5.0
    customer_asked: float = 0.0
    per_100_cny_order_value: float = 1.0
    order_value_cap: float = 10.0

    def __post_init__(self) -> None:
        if any(value < 0 for value in vars(self).values()):
            raise ValueError("priority weights cannot be negative: waiting must always help")

    def for_reason(self, reason: HandoffReason) -> float:
        return {
            HandoffReason.CUSTOMER_ASKED: self.customer_asked,
            HandoffReason.COMPLAINT: self.complaint,
            HandoffReason.REPEATED_FALLBACK: self.repeated_fallback,
            HandoffReason.POLICY: self.policy,
        }[reason]

    @property
    def max_head_start_minutes(self) -> float:
        reasons = max(self.for_reason(reason) for reason in HandoffReason)
        return self.verified + self.active_incident + reasons + self.order_value_cap


DEFAULT_WEIGHTS = PriorityWeights()


@dataclass(frozen=True)
class QueueEntryFacts:
    reason: HandoffReason
    enqueued_at: datetime
    verified: bool
    affected_by_active_incident: bool
    order_value: Decimal | None
    conversation_id: str = field(default="", compare=False)  # to map back; not scored

    def __post_init__(self) -> None:
        if self.enqueued_at.tzinfo is None or self.enqueued_at.utcoffset() is None:
            raise ValueError("enqueued_at must be timezone-aware")


def minutes_waited(facts: QueueEntryFacts, *, now: datetime) -> float:
    """Clock skew must not make anyone's wait negative."""
    return max(0.0, (now - facts.enqueued_at).total_seconds() / 60)


def head_start_minutes(facts: QueueEntryFacts, weights: PriorityWeights = DEFAULT_WEIGHTS) -> float:
    """The incident flag and order value count only for verified customers: for anyone else we
    do not know which order is theirs, and a claim typed into a chat is not a fact."""
    score = weights.for_reason(facts.reason)
    if facts.verified:
        score += weights.verified
        if facts.affected_by_active_incident:
            score += weights.active_incident
        if facts.order_value is not None and facts.order_value > 0:
            by_value = float(facts.order_value) / 100 * weights.per_100_cny_order_value
            score += min(by_value, weights.order_value_cap)
    return score


def priority_score(
    facts: QueueEntryFacts, *, now: datetime, weights: PriorityWeights = DEFAULT_WEIGHTS
) -> float:
    """Higher serves first: head start plus every minute already waited (one point each)."""
    return head_start_minutes(facts, weights) + minutes_waited(facts, now=now)


def order_queue(
    entries: Iterable[QueueEntryFacts],
    *,
    now: datetime,
    weights: PriorityWeights = DEFAULT_WEIGHTS,
) -> list[QueueEntryFacts]:
    """Best score first; on a tie, whoever came first (stable for identical entries)."""
    return sorted(
        entries, key=lambda e: (-priority_score(e, now=now, weights=weights), e.enqueued_at)
    )


# --- Surge ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurgeSignals:
    arrivals_in_window: int
    window_minutes: float
    normal_rate_per_min: float
    queue_length: int
    active_incidents: int

    @property
    def arrival_rate_per_min(self) -> float:
        return self.arrivals_in_window / self.window_minutes


@dataclass(frozen=True)
class SurgeState:
    active: bool
    reasons: tuple[str, ...]


def normal_arrival_rate(history_counts_per_window: Sequence[int], window_minutes: float) -> float:
    """The median of past windows' handoff counts, per minute.

    The median, because past windows include earlier surges, which would drag a mean up and
    hide the next one. Pass comparable windows (same hour on past days) so that an ordinary
    evening rush is not mistaken for a surge. No history gives 0.0: no baseline yet.
    """
    if window_minutes <= 0:
        raise ValueError("window_minutes must be positive")
    if not history_counts_per_window:
        return 0.0
    return float(statistics.median(history_counts_per_window)) / window_minutes


def surge_state(policy: HandoffPolicy, signals: SurgeSignals) -> SurgeState:
    """Any one signal is enough. Without a baseline (normal rate 0) the rate signal stays quiet
    rather than calling every first chat a surge; the queue length still catches overload."""
    if signals.window_minutes <= 0:
        raise ValueError("window_minutes must be positive")
    reasons: list[str] = []
    normal = signals.normal_rate_per_min
    if normal > 0 and signals.arrivals_in_window >= policy.surge_min_arrivals:
        ratio = signals.arrival_rate_per_min / normal
        if ratio + 1e-9 >= policy.surge_rate_factor:  # 45 in 15 min against 1/min is 3x
            reasons.append(f"arrival rate {ratio:.1f}x normal")
    if signals.queue_length >= policy.surge_queue_length:
        reasons.append(f"queue of {signals.queue_length}")
    if signals.active_incidents == 1:
        reasons.append("active incident")
    elif signals.active_incidents > 1:
        reasons.append(f"{signals.active_incidents} active incidents")
    return SurgeState(active=bool(reasons), reasons=tuple(reasons))
