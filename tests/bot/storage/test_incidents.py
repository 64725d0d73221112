"""The incident registry: every change is one timeline entry, resolved incidents stay so."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.incident_changes import IncidentChange
from bot.domain.incidents import IncidentStatus
from bot.storage.incidents import (
    Author,
    IncidentAlreadyResolved,
    IncidentNotFound,
    change_incident,
    declare_incident,
    get_incident,
    timeline,
)
from bot.storage.ops_tables import IncidentUpdateRecord
from tests.bot.domain.builders import NOW
from tests.bot.domain.test_incident_changes import DRAFT

MEI = Author("Mei Lin", None)


def _entries(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(IncidentUpdateRecord)) or 0)


def test_declare_change_and_resolve_each_leave_one_entry(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        declared = declare_incident(session, draft=DRAFT, author=MEI, at=NOW)
    later = NOW + timedelta(hours=2)
    with session_factory.begin() as session:
        changed = change_incident(
            session,
            incident_id=declared.id,
            change=IncidentChange(severity=3, customer_note="Held until Monday."),
            author=MEI,
            at=later,
        )
    assert (changed.severity, changed.customer_note) == (3, "Held until Monday.")
    with session_factory.begin() as session:
        unchanged = change_incident(
            session, incident_id=declared.id, change=IncidentChange(severity=3), author=MEI
        )
        assert unchanged.severity == 3 and _entries(session) == 2  # nothing new: no entry
    with session_factory.begin() as session:
        resolved = change_incident(
            session,
            incident_id=declared.id,
            change=IncidentChange(status=IncidentStatus.RESOLVED),
            author=MEI,
            at=later + timedelta(hours=1),
        )
    assert resolved.resolved_at == later + timedelta(hours=1)
    assert not resolved.is_active(later + timedelta(hours=1))
    with session_factory() as session:
        entries = timeline(session, incident_id=declared.id)
        stored = get_incident(session, incident_id=declared.id)
    assert [(entry.author, entry.summary) for entry in entries] == [
        ("Mei Lin", "Declared: carrier outage, severity 2, identified"),
        ("Mei Lin", "Severity 2 → 3; new customer note"),
        ("Mei Lin", "Resolved"),
    ]
    assert stored is not None and stored.status is IncidentStatus.RESOLVED


def test_a_resolved_or_unknown_incident_cannot_change(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        declared = declare_incident(session, draft=DRAFT, author=MEI, at=NOW)
        change_incident(
            session,
            incident_id=declared.id,
            change=IncidentChange(status=IncidentStatus.RESOLVED),
            author=MEI,
        )
    with session_factory.begin() as session, pytest.raises(IncidentAlreadyResolved):
        change_incident(
            session, incident_id=declared.id, change=IncidentChange(severity=1), author=MEI
        )
    with session_factory.begin() as session, pytest.raises(IncidentNotFound):
        change_incident(session, incident_id=999, change=IncidentChange(severity=1), author=MEI)
