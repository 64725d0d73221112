"""The gate in front of every ownership proof: counted in Shopdesk's database.

The action server asks `begin` before it compares a proof. In one transaction,
serialised per order, it checks the order's lock and the client's failures and,
if the proof may be tried, records the attempt as a failure; only then is the
proof compared, and a right one is marked afterwards. So every guess is counted
before it is tried, even when a hundred conversations try the same order at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.proof_limits import ProofPolicy, client_refused_until, order_locked_until
from bot.settings import Settings
from bot.storage import proof_attempts as store
from bot.storage.tables import utc_now

PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class ProofTicket:
    """Leave to compare one proof; `attempt_id` is its row, stored as a failure."""

    attempt_id: int


@dataclass(frozen=True)
class ProofRefusal:
    """No proof may be tried now; `scope` says whether the order or the client is locked."""

    scope: str  # "order" or "client"
    until: datetime

    def minutes_left(self, now: datetime) -> int:
        return max(1, int((self.until - now).total_seconds() // 60) + 1)


def proof_policy(settings: Settings) -> ProofPolicy:
    return ProofPolicy(
        failures_before_lock=settings.proof_failures_before_lock,
        first_lock=timedelta(minutes=settings.proof_first_lock_minutes),
        longest_lock=timedelta(hours=settings.proof_longest_lock_hours),
        memory=timedelta(hours=settings.proof_memory_hours),
        client_failures_per_hour=settings.proof_client_failures_per_hour,
        client_failures_per_day=settings.proof_client_failures_per_day,
    )


class ProofGuard:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        policy: ProofPolicy,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._session_factory = session_factory
        self._policy = policy
        self._clock = clock
        self._pruned_at = float("-inf")

    def now(self) -> datetime:
        return self._clock()

    async def begin(
        self, *, order_number: str, client_key: str, conversation_id: str | None
    ) -> ProofTicket | ProofRefusal:
        return await asyncio.to_thread(
            self._begin,
            order_number=order_number,
            client_key=client_key,
            conversation_id=conversation_id,
        )

    def _begin(
        self, *, order_number: str, client_key: str, conversation_id: str | None
    ) -> ProofTicket | ProofRefusal:
        now = self._clock()
        with self._session_factory.begin() as session:
            store.serialize_order_proofs(session, order_number=order_number)
            self._prune(session, now)
            attempts = store.order_attempts(
                session, order_number=order_number, since=now - self._policy.memory
            )
            locked = order_locked_until(attempts, self._policy, now=now)
            if locked is not None:
                return ProofRefusal("order", locked)
            failures = store.client_failures(
                session, client_key=client_key, since=now - timedelta(days=1)
            )
            refused = client_refused_until(failures, self._policy, now=now)
            if refused is not None:
                return ProofRefusal("client", refused)
            return ProofTicket(
                store.add_attempt(
                    session,
                    order_number=order_number,
                    client_key=client_key,
                    conversation_id=conversation_id,
                    at=now,
                )
            )

    def _prune(self, session: Session, now: datetime) -> None:
        """Attempts past the policy's memory count for nothing; drop them now and then."""
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        store.forget_before(session, before=now - max(self._policy.memory, timedelta(days=1)))

    async def succeeded(self, ticket: ProofTicket) -> None:
        await asyncio.to_thread(self._finish, store.mark_succeeded, ticket)

    async def void(self, ticket: ProofTicket) -> None:
        await asyncio.to_thread(self._finish, store.void_attempt, ticket)

    def _finish(self, change: Callable[..., None], ticket: ProofTicket) -> None:
        with self._session_factory.begin() as session:
            change(session, attempt_id=ticket.attempt_id)
