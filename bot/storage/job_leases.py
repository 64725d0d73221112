"""Leases on jobs that must run on one gateway instance at a time.

Taking or renewing a lease is one statement (an upsert whose update applies only
if the lease is the caller's or has lapsed), so two instances asking at the same
moment cannot both get it, on PostgreSQL as on SQLite. Times are the instances'
clocks: keep them in step (NTP) to well under a third of a lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.storage.tables import JobLease


def hold(session: Session, *, name: str, holder: str, now: datetime, lease: timedelta) -> bool:
    """Takes the lease, or renews it, until `now + lease`; False if another holds it."""
    table = cast(sa.Table, JobLease.__table__)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = insert(table).values(name=name, holder=holder, expires_at=now + lease)
    upsert = values.on_conflict_do_update(
        index_elements=[table.c.name],
        set_={"holder": values.excluded.holder, "expires_at": values.excluded.expires_at},
        where=sa.or_(table.c.holder == holder, table.c.expires_at <= now),
    )
    return session.execute(upsert.returning(table.c.holder)).first() is not None


def release(session: Session, *, name: str, holder: str) -> None:
    """Gives the lease up at once (a clean stop), if it is still the holder's."""
    session.execute(sa.delete(JobLease).where(JobLease.name == name, JobLease.holder == holder))
