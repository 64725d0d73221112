"""The notice outbox: batches and their notices are written in one transaction before
anything is sent (bot/channels/notice_sender.py sends them), and opt-outs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from bot.domain.desk_events import EventKind
from bot.domain.notices import STOP_NOTICES, Occasion, PlannedNotice, Progress, Recipient
from bot.security.clients import telegram_client_key
from bot.storage.accounts import current_conversation
from bot.storage.conversations import add_message, mark_delivery
from bot.storage.desk_events import record_event
from bot.storage.incidents import Author
from bot.storage.ops_tables import IncidentRecord, Notice, NoticeBatch, NoticeOptOut
from bot.storage.tables import Button, Channel, ChannelAccount, Conversation, Message, utc_now

# Channels whose linked accounts can be reached with a notice, best first: Telegram
# reaches the customer at once, the web chat when they next open it.
NOTICE_CHANNELS = ("telegram", "webchat")
_CHUNK = 900  # ids per IN (...) list: well under SQLite's and PostgreSQL's limits


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def reachable(session: Session, *, customer_ids: Iterable[int]) -> dict[int, Recipient]:
    """Customers with a linked account who have not opted out, by customer id."""
    wanted = sorted(set(customer_ids))
    found: dict[int, Recipient] = {}
    rank = {channel: index for index, channel in enumerate(NOTICE_CHANNELS)}
    for chunk in _chunks(wanted):
        opted_out = sa.select(NoticeOptOut.customer_id)
        rows = session.execute(
            sa.select(ChannelAccount.customer_id, ChannelAccount.id, ChannelAccount.channel)
            .where(
                ChannelAccount.customer_id.in_(chunk),
                ChannelAccount.channel.in_(NOTICE_CHANNELS),
                ChannelAccount.customer_id.not_in(opted_out),
            )
            .order_by(ChannelAccount.linked_at.desc(), ChannelAccount.id.desc())
        )
        for customer_id, account_id, channel in rows:
            if customer_id is None:
                continue
            best = found.get(customer_id)
            if best is None or rank[channel] < rank[best.channel]:
                found[customer_id] = Recipient(customer_id, account_id, channel)
    return found


def create_batch(
    session: Session,
    *,
    incident_id: int,
    occasion: Occasion,
    author: Author,
    notices: list[PlannedNotice],
    at: datetime | None = None,
) -> int:
    batch = NoticeBatch(
        incident_id=incident_id,
        occasion=occasion.value,
        created_at=at or utc_now(),
        agent_id=author.agent_id,
        author=author.name[:64],
        planned=len(notices),
    )
    session.add(batch)
    session.flush()
    if notices:
        session.execute(
            sa.insert(Notice),
            [
                {
                    "batch_id": batch.id,
                    "customer_id": notice.recipient.customer_id,
                    "account_id": notice.recipient.account_id,
                    "channel": notice.recipient.channel,
                    "order_numbers": list(notice.order_numbers),
                    "text": notice.text,
                    "state": "queued",
                    "attempts": 0,
                }
                for notice in notices
            ],
        )
    return batch.id


def latest_progress(session: Session, *, incident_id: int, now: datetime) -> Progress | None:
    """How the incident's latest fan-out is going; None before any."""
    batch = session.scalars(
        sa.select(NoticeBatch)
        .where(NoticeBatch.incident_id == incident_id)
        .order_by(NoticeBatch.id.desc())
        .limit(1)
    ).first()
    if batch is None:
        return None
    counts = dict(
        session.execute(
            sa.select(Notice.state, sa.func.count())
            .where(Notice.batch_id == batch.id)
            .group_by(Notice.state)
        ).all()
    )
    return Progress(
        incident_id=incident_id,
        planned=batch.planned,
        sent=int(counts.get("sent", 0)),
        failed=int(counts.get("failed", 0)),
        skipped=int(counts.get("skipped", 0)),
        started_at=batch.created_at,
        now=now,
    )


def set_opted_out(session: Session, *, customer_id: int, opted_out: bool) -> bool:
    """True when this changed anything (saying "stop" twice is not an error)."""
    row = session.get(NoticeOptOut, customer_id)
    if opted_out and row is None:
        session.add(NoticeOptOut(customer_id=customer_id, created_at=utc_now()))
    elif not opted_out and row is not None:
        session.delete(row)
    else:
        return False
    session.flush()
    return True


def is_opted_out(session: Session, *, customer_id: int) -> bool:
    return session.get(NoticeOptOut, customer_id) is not None


# --- The sender's side (bot/channels/notice_sender.py) ---
#
# A notice is claimed in its own committed transaction before it is sent (queued ->
# sending, guarded by the state so two senders never both take it), then marked in
# another. A web chat notice is delivered by being stored, so its claim stores it and
# marks it sent at once.

STOP_BUTTONS: list[Button] = [{"title": STOP_NOTICES, "payload": STOP_NOTICES}]
# A web page opening again gets at most this many notices it has not shown yet.
UNSEEN_CARRIED = 10


@dataclass(frozen=True)
class ClaimedNotice:
    """What a claim did: "sending" (a Telegram notice to send now), "sent" (a web chat
    notice, stored), "skipped" (opted out) or "failed" (the account is someone else's now)."""

    notice_id: int
    state: str
    incident_id: int
    channel: str
    # The Telegram chat id, or the web chat session id.
    chat: str
    conversation_id: str | None = None
    message_id: int | None = None


def queued_notice_ids(
    session: Session, *, channels: Iterable[str], limit: int, leave_out: Iterable[int] = ()
) -> list[int]:
    """The oldest queued notices first: a restarted fan-out goes on in the same order."""
    wanted = sorted(set(channels))
    if not wanted:
        return []
    statement = (
        sa.select(Notice.id)
        .where(Notice.state == "queued", Notice.channel.in_(wanted))
        .order_by(Notice.id)
        .limit(limit)
    )
    skipped = sorted(set(leave_out))
    if skipped:
        statement = statement.where(Notice.id.not_in(skipped))
    return list(session.scalars(statement))


def _notice_conversation(
    session: Session, account: ChannelAccount, idle_after: timedelta
) -> Conversation:
    """The account's current conversation as its next message would find it (one gone idle
    is closed and a new one started), so a notice never revives a stale conversation. A new
    one is started for the client of the last, for the per-client proof limits."""
    previous = (
        session.get(Conversation, account.current_conversation_id)
        if account.current_conversation_id is not None
        else None
    )
    client = previous.client_key if previous is not None else None
    if account.channel == "telegram" and account.external_id.lstrip("-").isdigit():
        client = telegram_client_key(int(account.external_id))
    current = current_conversation(
        session, account=account, idle_after=idle_after, client_key=client
    )
    return current.conversation


def _record_sent(session: Session, notice: Notice, *, incident_id: int, at: datetime) -> None:
    conversation_id = None
    if notice.message_id is not None:
        message = session.get(Message, notice.message_id)
        conversation_id = message.conversation_id if message is not None else None
    record_event(
        session,
        kind=EventKind.NOTICE_SENT,
        at=at,
        conversation_id=conversation_id,
        channel=notice.channel,
        incident_id=incident_id,
        account_id=notice.account_id,
    )


def claim_notice(
    session: Session, *, notice_id: int, claimer: str, at: datetime, idle_after: timedelta
) -> ClaimedNotice | None:
    """None when another sender took it first (or it is no longer queued)."""
    taken = session.execute(
        sa.update(Notice)
        .where(Notice.id == notice_id, Notice.state == "queued")
        .values(state="sending", claimed_at=at, claimed_by=claimer, attempts=Notice.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], taken).rowcount != 1:
        return None
    notice = session.get(Notice, notice_id, populate_existing=True)
    account = session.get(ChannelAccount, notice.account_id) if notice is not None else None
    if notice is None or account is None:
        return None  # deleted meanwhile (the account's rows cascade)
    incident_id = session.scalar(
        sa.select(NoticeBatch.incident_id).where(NoticeBatch.id == notice.batch_id)
    )
    assert incident_id is not None
    claim = ClaimedNotice(notice.id, notice.state, incident_id, notice.channel, account.external_id)
    if is_opted_out(session, customer_id=notice.customer_id):
        notice.state = "skipped"
        return replace(claim, state="skipped")
    if account.customer_id != notice.customer_id:
        # Re-linked to another customer since the batch was written: never tell them
        # someone else's order numbers.
        notice.state, notice.error = "failed", "AccountRelinked"
        return replace(claim, state="failed")
    message = session.get(Message, notice.message_id) if notice.message_id is not None else None
    if message is None:
        conversation = _notice_conversation(session, account, idle_after)
        message = add_message(
            session,
            conversation_id=conversation.id,
            direction="out",
            sender="bot",
            text=notice.text,
            buttons=list(STOP_BUTTONS),
            channel=cast(Channel, account.channel),
            delivery_state="sending" if notice.channel == "telegram" else "queued",
        )
        notice.message_id = message.id
    claim = replace(claim, conversation_id=message.conversation_id, message_id=message.id)
    if notice.channel != "telegram":  # stored is delivered: the page shows it from history
        notice.state, notice.sent_at, notice.error = "sent", at, None
        _record_sent(session, notice, incident_id=incident_id, at=at)
        return replace(claim, state="sent")
    return claim


def mark_notice_sent(
    session: Session, *, notice_id: int, claimer: str, external_id: str, at: datetime
) -> bool:
    """False when the claim was no longer this sender's (its lease ran out meanwhile)."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.state != "sending" or notice.claimed_by != claimer:
        return False
    notice.state, notice.sent_at, notice.error = "sent", at, None
    if notice.message_id is not None and session.get(Message, notice.message_id) is not None:
        mark_delivery(
            session,
            message_id=notice.message_id,
            delivery_state="delivered",
            external_id=external_id,
        )
    incident_id = session.scalar(
        sa.select(NoticeBatch.incident_id).where(NoticeBatch.id == notice.batch_id)
    )
    assert incident_id is not None
    _record_sent(session, notice, incident_id=incident_id, at=at)
    return True


def release_notice(
    session: Session,
    *,
    notice_id: int,
    claimer: str,
    error: str,
    final: bool,
    max_attempts: int,
) -> str | None:
    """After a send that did not go through: queued again, or failed for good when `final`
    (the chat blocked the bot) or out of attempts. Returns the new state (None: the claim
    was no longer this sender's)."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.state != "sending" or notice.claimed_by != claimer:
        return None
    notice.error = error[:64]
    notice.claimed_by = None
    if final or notice.attempts >= max_attempts:
        notice.state = "failed"
        if notice.message_id is not None:  # never reached the customer: not in the transcript
            session.execute(sa.delete(Message).where(Message.id == notice.message_id))
            notice.message_id = None
    else:
        notice.state = "queued"
    session.flush()
    return notice.state


def requeue_stale_claims(session: Session, *, claimed_before: datetime) -> int:
    """Claims of a sender that died mid-send go back to the queue: the notice is sent
    again, which may repeat one that had reached Telegram (at least once, docs/ops.md)."""
    result = session.execute(
        sa.update(Notice)
        .where(Notice.state == "sending", Notice.claimed_at < claimed_before)
        .values(state="queued", claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount or 0)


def carry_unseen_notices(session: Session, *, account_id: int, conversation_id: str) -> int:
    """A web chat page that opens a new conversation (the last one went idle) still shows
    the notices it never showed: they move into the new conversation."""
    rows = session.execute(
        sa.select(Notice, Message)
        .join(Message, Message.id == Notice.message_id)
        .where(
            Notice.account_id == account_id,
            Notice.channel == "webchat",
            Notice.state == "sent",
            Message.delivery_state == "queued",
            Message.conversation_id != conversation_id,
        )
        .order_by(Notice.id.desc())
        .limit(UNSEEN_CARRIED)
    ).all()
    for notice, old in reversed(rows):
        carried = add_message(
            session,
            conversation_id=conversation_id,
            direction="out",
            sender="bot",
            text=old.text,
            buttons=list(old.buttons or []),
            channel="webchat",
            delivery_state="queued",
        )
        old.delivery_state = "delivered"  # shown in its new place; not carried again
        notice.message_id = carried.id
    session.flush()
    return len(rows)


def notice_button_payload(
    session: Session, *, message_id: int, index: int, account_id: int
) -> str | None:
    """The button under a notice works as long as the account is the notice's, even after
    the conversation it came in has ended (other buttons expire with theirs)."""
    owned = session.scalar(
        sa.select(Notice.id).where(Notice.message_id == message_id, Notice.account_id == account_id)
    )
    return STOP_NOTICES if owned is not None and index == 0 else None


def incidents_with_notices(session: Session, *, limit: int) -> list[int]:
    """Incidents whose customers were notified, the latest fan-out first."""
    rows = session.execute(
        sa.select(NoticeBatch.incident_id, sa.func.max(NoticeBatch.id).label("latest"))
        .group_by(NoticeBatch.incident_id)
        .order_by(sa.desc("latest"))
        .limit(limit)
    )
    return [incident_id for incident_id, _ in rows]


@dataclass(frozen=True)
class FanOut:
    """An incident's latest fan-out, for the console."""

    progress: Progress
    title: str
    occasion: str


def latest_fan_outs(session: Session, *, limit: int, now: datetime) -> list[FanOut]:
    """The latest fan-out of each incident that had one, the most recent first."""
    found: list[FanOut] = []
    for incident_id in incidents_with_notices(session, limit=limit):
        progress = latest_progress(session, incident_id=incident_id, now=now)
        row = session.execute(
            sa.select(IncidentRecord.title, NoticeBatch.occasion)
            .join(NoticeBatch, NoticeBatch.incident_id == IncidentRecord.id)
            .where(IncidentRecord.id == incident_id)
            .order_by(NoticeBatch.id.desc())
            .limit(1)
        ).first()
        if progress is not None and row is not None:
            found.append(FanOut(progress, row.title, row.occasion))
    return found
