"""The notice sender's side of the outbox: claims, marks, skips, failures, a restart's
stale claims, two senders at once, and a web chat's unseen notices; on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.desk_events import EventKind
from bot.domain.notices import STOP_NOTICES, Occasion, PlannedNotice, Recipient
from bot.storage import notices as outbox
from bot.storage.accounts import current_conversation, get_or_create_account, link_customer
from bot.storage.conversations import list_messages, undelivered_messages
from bot.storage.incidents import Author, declare_incident
from bot.storage.ops_tables import DeskEvent, Notice
from bot.storage.tables import ChannelAccount, Conversation, Message, utc_now
from tests.bot.domain.test_incident_changes import DRAFT

ME = "gateway-a"
OTHER = "gateway-b"
IDLE = timedelta(minutes=30)


def _outbox(
    session_factory: sessionmaker[Session], people: list[tuple[str, str, int]]
) -> tuple[int, dict[int, int]]:
    """An incident and one notice per (channel, external id, customer); returns the
    incident id and the notice id by customer."""
    with session_factory.begin() as session:
        incident = declare_incident(session, draft=DRAFT, author=Author("Mei"))
        planned = []
        for channel, external_id, customer in people:
            account = get_or_create_account(
                session,
                channel=channel,  # type: ignore[arg-type]
                external_id=external_id,
            )
            link_customer(session, account_id=account.id, customer_id=customer)
            recipient = Recipient(customer, account.id, channel)
            planned.append(PlannedNotice(recipient, (f"10{customer:04d}",), f"notice {customer}"))
        outbox.create_batch(
            session, incident_id=incident.id, occasion=Occasion.DECLARED, author=Author("Mei"),
            notices=planned,
        )  # fmt: skip
        rows = session.execute(sa.select(Notice.customer_id, Notice.id))
        return incident.id, {customer: notice_id for customer, notice_id in rows}


def _claim(
    session_factory: sessionmaker[Session], notice_id: int, claimer: str = ME
) -> outbox.ClaimedNotice | None:
    with session_factory.begin() as session:
        return outbox.claim_notice(
            session, notice_id=notice_id, claimer=claimer, at=utc_now(), idle_after=IDLE
        )


def _notice(session_factory: sessionmaker[Session], notice_id: int) -> Notice:
    with session_factory() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        return notice


def test_a_telegram_notice_is_claimed_once_and_stored_with_its_stop_button(
    session_factory: sessionmaker[Session],
) -> None:
    incident_id, ids = _outbox(session_factory, [("telegram", "7001", 7)])

    claim = _claim(session_factory, ids[7])
    again = _claim(session_factory, ids[7], OTHER)

    assert claim is not None and again is None
    assert (claim.state, claim.channel, claim.chat, claim.incident_id) == (
        "sending", "telegram", "7001", incident_id,
    )  # fmt: skip
    notice = _notice(session_factory, ids[7])
    assert (notice.state, notice.attempts, notice.claimed_by) == ("sending", 1, ME)
    with session_factory() as session:
        message = session.get(Message, claim.message_id)
        assert message is not None and message.conversation_id == claim.conversation_id
        assert (message.sender, message.text, message.delivery_state) == (
            "bot", "notice 7", "sending",
        )  # fmt: skip
        assert message.buttons == [{"title": STOP_NOTICES, "payload": STOP_NOTICES}]
        # The channel's re-send of refused replies leaves it to the notice sender.
        assert message.id not in {m.id for m in undelivered_messages(session, channel="telegram")}
        conversation = session.get(Conversation, claim.conversation_id)
        assert conversation is not None and conversation.client_key == "tg:7001"


def test_a_sent_notice_is_delivered_in_the_transcript_and_counted_for_the_desk(
    session_factory: sessionmaker[Session],
) -> None:
    incident_id, ids = _outbox(session_factory, [("telegram", "7001", 7)])
    claim = _claim(session_factory, ids[7])
    assert claim is not None

    with session_factory.begin() as session:
        stolen = outbox.mark_notice_sent(
            session, notice_id=ids[7], claimer=OTHER, external_id="55", at=utc_now()
        )
    with session_factory.begin() as session:
        marked = outbox.mark_notice_sent(
            session, notice_id=ids[7], claimer=ME, external_id="55", at=utc_now()
        )

    assert (stolen, marked) == (False, True)
    notice = _notice(session_factory, ids[7])
    assert notice.state == "sent" and notice.sent_at is not None
    with session_factory() as session:
        message = session.get(Message, claim.message_id)
        assert message is not None
        assert (message.delivery_state, message.external_id) == ("delivered", "55")
        event = session.scalars(sa.select(DeskEvent)).one()
        assert (event.kind, event.incident_id, event.account_id, event.channel) == (
            EventKind.NOTICE_SENT.value, incident_id, notice.account_id, "telegram",
        )  # fmt: skip
        assert event.conversation_id == claim.conversation_id


def test_a_notice_to_someone_who_opted_out_meanwhile_is_skipped(
    session_factory: sessionmaker[Session],
) -> None:
    _, ids = _outbox(session_factory, [("telegram", "7001", 7)])
    with session_factory.begin() as session:
        outbox.set_opted_out(session, customer_id=7, opted_out=True)

    claim = _claim(session_factory, ids[7])

    assert claim is not None and claim.state == "skipped" and claim.message_id is None
    assert _notice(session_factory, ids[7]).state == "skipped"
    with session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_an_account_linked_to_someone_else_since_never_gets_the_notice(
    session_factory: sessionmaker[Session],
) -> None:
    _, ids = _outbox(session_factory, [("telegram", "7001", 7)])
    with session_factory.begin() as session:
        account = session.scalars(sa.select(ChannelAccount)).one()
        link_customer(session, account_id=account.id, customer_id=8)

    claim = _claim(session_factory, ids[7])

    assert claim is not None and claim.state == "failed"
    notice = _notice(session_factory, ids[7])
    assert (notice.state, notice.error) == ("failed", "AccountRelinked")


def test_a_refused_send_is_queued_again_until_its_attempts_run_out(
    session_factory: sessionmaker[Session],
) -> None:
    _, ids = _outbox(session_factory, [("telegram", "7001", 7)])
    states = []
    message_ids = set()
    for _ in range(3):
        claim = _claim(session_factory, ids[7])
        assert claim is not None
        message_ids.add(claim.message_id)
        with session_factory.begin() as session:
            states.append(
                outbox.release_notice(
                    session, notice_id=ids[7], claimer=ME, error="NetworkError", final=False,
                    max_attempts=3,
                )
            )  # fmt: skip

    assert states == ["queued", "queued", "failed"]
    assert len(message_ids) == 1  # the stored notice is reused by each attempt
    notice = _notice(session_factory, ids[7])
    assert (notice.attempts, notice.error, notice.message_id) == (3, "NetworkError", None)
    with session_factory() as session:  # never delivered: not in the transcript
        assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_a_chat_that_blocked_the_bot_fails_at_once(
    session_factory: sessionmaker[Session],
) -> None:
    _, ids = _outbox(session_factory, [("telegram", "7001", 7)])
    assert _claim(session_factory, ids[7]) is not None

    with session_factory.begin() as session:
        state = outbox.release_notice(
            session, notice_id=ids[7], claimer=ME, error="Forbidden", final=True, max_attempts=5
        )

    assert state == "failed"
    notice = _notice(session_factory, ids[7])
    assert (notice.state, notice.error, notice.attempts) == ("failed", "Forbidden", 1)


def test_claims_of_a_sender_that_died_are_queued_again_after_their_lease(
    session_factory: sessionmaker[Session],
) -> None:
    _, ids = _outbox(session_factory, [("telegram", "7001", 7), ("telegram", "7002", 8)])
    long_ago = utc_now() - timedelta(minutes=10)
    with session_factory.begin() as session:
        outbox.claim_notice(session, notice_id=ids[7], claimer=OTHER, at=long_ago, idle_after=IDLE)
        outbox.claim_notice(session, notice_id=ids[8], claimer=OTHER, at=utc_now(), idle_after=IDLE)

    with session_factory.begin() as session:
        requeued = outbox.requeue_stale_claims(
            session, claimed_before=utc_now() - timedelta(minutes=5)
        )

    assert requeued == 1
    assert _notice(session_factory, ids[7]).state == "queued"
    assert _notice(session_factory, ids[8]).state == "sending"
    with session_factory.begin() as session:  # the dead sender's late mark is refused
        assert not outbox.mark_notice_sent(
            session, notice_id=ids[7], claimer=OTHER, external_id="1", at=utc_now()
        )
    claim = _claim(session_factory, ids[7])
    assert claim is not None and claim.state == "sending"


def test_two_senders_never_take_the_same_notice(
    session_factory: sessionmaker[Session],
) -> None:
    people = [("telegram", str(8000 + n), n) for n in range(1, 41)]
    _, ids = _outbox(session_factory, people)
    taken: dict[str, list[int]] = {ME: [], OTHER: []}
    start = threading.Barrier(2)

    def sender(name: str) -> None:
        start.wait()
        for notice_id in sorted(ids.values()):
            if _claim(session_factory, notice_id, name) is not None:
                taken[name].append(notice_id)

    threads = [threading.Thread(target=sender, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(taken[ME] + taken[OTHER]) == sorted(ids.values())
    with session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == len(ids)


def test_queued_notices_come_oldest_first_for_the_channels_asked(
    session_factory: sessionmaker[Session],
) -> None:
    _, ids = _outbox(
        session_factory,
        [("telegram", "7001", 1), ("webchat", "w" * 22, 2), ("telegram", "7003", 3)],
    )
    with session_factory() as session:
        everything = outbox.queued_notice_ids(session, channels=["telegram", "webchat"], limit=10)
        telegram = outbox.queued_notice_ids(session, channels=["telegram"], limit=10)
        rest = outbox.queued_notice_ids(
            session, channels=["telegram"], limit=10, leave_out=[ids[1]]
        )
        none = outbox.queued_notice_ids(session, channels=[], limit=10)

    assert everything == [ids[1], ids[2], ids[3]]
    assert (telegram, rest, none) == ([ids[1], ids[3]], [ids[3]], [])


def test_a_web_chat_notice_is_stored_in_the_open_conversation_and_sent_at_once(
    session_factory: sessionmaker[Session],
) -> None:
    session_id = "browser-session-000001"
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="webchat", external_id=session_id)
        open_id = current_conversation(
            session, account=account, idle_after=IDLE, client_key="ip:10.0.0.9"
        ).conversation.id
    _, ids = _outbox(session_factory, [("webchat", session_id, 7)])

    claim = _claim(session_factory, ids[7])

    assert claim is not None and (claim.state, claim.conversation_id) == ("sent", open_id)
    assert _notice(session_factory, ids[7]).state == "sent"
    with session_factory() as session:
        [message] = list_messages(session, conversation_id=open_id)
        assert (message.text, message.delivery_state) == ("notice 7", "queued")
        assert session.scalars(sa.select(DeskEvent.kind)).all() == [EventKind.NOTICE_SENT.value]


def test_a_web_chat_notice_not_yet_shown_follows_the_customer_into_a_new_conversation(
    session_factory: sessionmaker[Session],
) -> None:
    session_id = "browser-session-000002"
    _, ids = _outbox(session_factory, [("webchat", session_id, 7)])
    claim = _claim(session_factory, ids[7])
    assert claim is not None and claim.conversation_id is not None
    with session_factory.begin() as session:
        old = session.get(Conversation, claim.conversation_id)
        assert old is not None and old.client_key is None  # nobody had used this session
        old.closed_at = utc_now()  # went idle before the customer came back
        account = session.scalars(sa.select(ChannelAccount)).one()
        new_id = current_conversation(session, account=account, idle_after=IDLE).conversation.id

    with session_factory.begin() as session:
        carried = outbox.carry_unseen_notices(
            session, account_id=account.id, conversation_id=new_id
        )
    with session_factory.begin() as session:
        again = outbox.carry_unseen_notices(session, account_id=account.id, conversation_id=new_id)

    assert (carried, again) == (1, 0)
    with session_factory() as session:
        [shown] = list_messages(session, conversation_id=new_id)
        assert (shown.text, shown.delivery_state) == ("notice 7", "queued")
        assert _notice(session_factory, ids[7]).message_id == shown.id


def test_the_button_under_a_notice_belongs_to_its_account_only(
    session_factory: sessionmaker[Session],
) -> None:
    _, ids = _outbox(session_factory, [("telegram", "7001", 7), ("telegram", "7002", 8)])
    claim = _claim(session_factory, ids[7])
    assert claim is not None and claim.message_id is not None
    with session_factory() as session:
        mine = _notice(session_factory, ids[7]).account_id
        theirs = _notice(session_factory, ids[8]).account_id
        payload = outbox.notice_button_payload(
            session, message_id=claim.message_id, index=0, account_id=mine
        )
        foreign = outbox.notice_button_payload(
            session, message_id=claim.message_id, index=0, account_id=theirs
        )
        other_index = outbox.notice_button_payload(
            session, message_id=claim.message_id, index=1, account_id=mine
        )

    assert (payload, foreign, other_index) == (STOP_NOTICES, None, None)


def test_the_console_reads_each_incidents_latest_fan_out(
    session_factory: sessionmaker[Session],
) -> None:
    incident_id, ids = _outbox(session_factory, [("telegram", "7001", 7), ("telegram", "7002", 8)])
    claim = _claim(session_factory, ids[7])
    assert claim is not None
    with session_factory.begin() as session:
        outbox.mark_notice_sent(
            session, notice_id=ids[7], claimer=ME, external_id="9", at=utc_now()
        )

    with session_factory() as session:
        [fan_out] = outbox.latest_fan_outs(session, limit=5, now=utc_now())

    assert (fan_out.title, fan_out.occasion) == (DRAFT.title, "declared")
    progress = fan_out.progress
    assert (progress.incident_id, progress.planned, progress.sent, progress.left) == (
        incident_id, 2, 1, 1,
    )  # fmt: skip


def test_a_notice_starts_a_new_conversation_when_the_last_went_idle(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="telegram", external_id="7001")
        stale = current_conversation(session, account=account, idle_after=IDLE).conversation
        stale.last_activity_at = utc_now() - 2 * IDLE  # not swept yet
        stale_id = stale.id
    _, ids = _outbox(session_factory, [("telegram", "7001", 7)])

    claim = _claim(session_factory, ids[7])

    assert claim is not None and claim.conversation_id not in (None, stale_id)
    with session_factory() as session:
        closed = session.get(Conversation, stale_id)
        assert closed is not None and closed.closed_at is not None
