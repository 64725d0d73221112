"""Storage functions for ownership-proof attempts (bot/domain/proof_limits.py decides).

They flush but never commit; `serialize_order_proofs` must come first in the
transaction, so that two conversations trying the same order at once take turns
and neither can slip a guess past the other's count.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.domain.proof_limits import Attempt
from bot.storage.tables import ProofAttempt


def serialize_order_proofs(session: Session, *, order_number: str) -> None:
    """PostgreSQL: a transaction-scoped advisory lock on the order number. SQLite has
    one writer at a time; a first write (deleting nothing) takes that lock before the
    reads, which pysqlite would otherwise run outside the transaction."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"proof:{order_number}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
        return
    session.execute(sa.delete(ProofAttempt).where(sa.false()))


def order_attempts(session: Session, *, order_number: str, since: datetime) -> list[Attempt]:
    rows = session.execute(
        sa.select(ProofAttempt.created_at, ProofAttempt.succeeded).where(
            ProofAttempt.order_number == order_number, ProofAttempt.created_at >= since
        )
    )
    return [Attempt(at=created_at, succeeded=succeeded) for created_at, succeeded in rows]


def client_failures(session: Session, *, client_key: str, since: datetime) -> list[datetime]:
    return list(
        session.scalars(
            sa.select(ProofAttempt.created_at).where(
                ProofAttempt.client_key == client_key,
                ProofAttempt.succeeded.is_(False),
                ProofAttempt.created_at >= since,
            )
        )
    )


def add_attempt(
    session: Session,
    *,
    order_number: str,
    client_key: str,
    conversation_id: str | None,
    at: datetime,
) -> int:
    """Stored as a failure until the proof is found right: a crash mid-check costs the
    guesser a try, never the other way round."""
    attempt = ProofAttempt(
        order_number=order_number,
        client_key=client_key,
        succeeded=False,
        conversation_id=conversation_id,
        created_at=at,
    )
    session.add(attempt)
    session.flush()
    return attempt.id


def mark_succeeded(session: Session, *, attempt_id: int) -> None:
    session.execute(
        sa.update(ProofAttempt).where(ProofAttempt.id == attempt_id).values(succeeded=True)
    )


def void_attempt(session: Session, *, attempt_id: int) -> None:
    """For a check that never happened (the order system was down): no guess was made."""
    session.execute(sa.delete(ProofAttempt).where(ProofAttempt.id == attempt_id))


def forget_before(session: Session, *, before: datetime) -> int:
    """Attempts older than the policy's memory no longer count; returns rows removed."""
    result = session.execute(sa.delete(ProofAttempt).where(ProofAttempt.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
