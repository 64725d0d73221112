"""The notice outbox: who can be reached, one row per customer, progress, opt-outs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.notices import Occasion, PlannedNotice, Recipient
from bot.storage import notices
from bot.storage.incidents import Author, declare_incident
from bot.storage.ops_tables import Notice
from bot.storage.tables import ChannelAccount
from tests.bot.domain.builders import NOW
from tests.bot.domain.test_incident_changes import DRAFT


def _account(session: Session, channel: str, external_id: str, customer_id: int | None) -> int:
    account = ChannelAccount(channel=channel, external_id=external_id, customer_id=customer_id)
    session.add(account)
    session.flush()
    return account.id


def test_reachable_prefers_telegram_and_leaves_out_who_opted_out(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        web = _account(session, "webchat", "w1", 7)
        telegram = _account(session, "telegram", "111", 7)
        only_web = _account(session, "webchat", "w2", 8)
        _account(session, "telegram", "333", 9)
        _account(session, "telegram", "444", None)
        notices.set_opted_out(session, customer_id=9, opted_out=True)
    with session_factory() as session:
        found = notices.reachable(session, customer_ids=[7, 8, 9, 10])
    assert found == {
        7: Recipient(7, telegram, "telegram"),
        8: Recipient(8, only_web, "webchat"),
    }
    assert web != telegram


def test_a_batch_is_written_whole_with_one_notice_per_customer(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        incident = declare_incident(session, draft=DRAFT, author=Author("Mei"), at=NOW)
        account = _account(session, "telegram", "111", 7)
        planned = [PlannedNotice(Recipient(7, account, "telegram"), ("100245",), "hello")]
        notices.create_batch(
            session, incident_id=incident.id, occasion=Occasion.DECLARED, author=Author("Mei"),
            notices=planned, at=NOW,
        )  # fmt: skip
    with session_factory.begin() as session:
        progress = notices.latest_progress(session, incident_id=incident.id, now=NOW)
        assert progress is not None and (progress.planned, progress.sent) == (1, 0)
        row = session.scalars(sa.select(Notice)).one()
        row.state = "sent"
    with session_factory() as session:
        progress = notices.latest_progress(session, incident_id=incident.id, now=NOW)
        assert progress is not None and progress.describe().endswith(
            "1 of 1 notices sent, 0 failed, done"
        )
    with session_factory.begin() as session, pytest.raises(IntegrityError):
        batch = session.scalars(sa.select(Notice.batch_id)).one()
        session.add(
            Notice(batch_id=batch, customer_id=7, account_id=account, channel="telegram",
                   order_numbers=[], text="again", state="queued", attempts=0)
        )  # fmt: skip
        session.flush()


def test_opting_out_twice_or_in_again_is_fine(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        assert notices.set_opted_out(session, customer_id=7, opted_out=True)
        assert not notices.set_opted_out(session, customer_id=7, opted_out=True)
        assert notices.is_opted_out(session, customer_id=7)
        assert notices.set_opted_out(session, customer_id=7, opted_out=False)
        assert not notices.is_opted_out(session, customer_id=7)
