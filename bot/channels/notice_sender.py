"""Sends the incident notices the outbox holds (bot/storage/notices.py), for as long as the
gateway runs.

Each notice is claimed in its own committed transaction before it is sent and marked in
another once Telegram accepted it, so a restart resumes with the first notice not marked
and nothing marked is sent again. A graceful stop (SIGTERM) lets the sends under way
finish and be marked. After a hard kill the few notices claimed but not marked are sent
again once their claim's lease runs out: at least once, so a customer may get one of
them twice but nobody is left out (docs/ops.md). Claims are guarded by the notice's state,
so two senders never take the same notice; and the sender runs on one gateway instance at
a time (bot/channels/single_instance.py), so that one limiter paces every notice.

Telegram notices go through the channel's own Bot, so the limiter every Telegram send
shares paces them (bot/channels/telegram_limiter.py), behind customers' replies. A web
chat notice is delivered by being stored in the customer's conversation: pushed at once
to an open page, shown from history when the page opens next.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import secrets
import socket
import time
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from telegram.constants import MessageLimit
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError

from bot.channels.delivery import Delivery
from bot.channels.relay_store import StoredMessage
from bot.channels.telegram import TelegramChannel, keyboard
from bot.channels.telegram_limiter import Priority
from bot.channels.telegram_pacing import Pace
from bot.channels.telegram_text import split_text
from bot.settings import Settings
from bot.storage import notices as outbox
from bot.storage.tables import Message, utc_now

logger = logging.getLogger(__name__)

BULK = Pace(priority=Priority.BULK)
# Queued notices read per look at the outbox.
BATCH = 200
# A send (its wait for a slot included) that takes longer is given up and tried again;
# the claim's lease must be well above it.
SEND_TIMEOUT_SECONDS = 120.0
# How long a graceful stop waits for the sends under way.
STOP_GRACE_SECONDS = 10.0
# Telegram unreachable: Telegram notices wait this long, doubling up to the cap.
FIRST_BACKOFF_SECONDS = 2.0
LONGEST_BACKOFF_SECONDS = 60.0
# Refusals that sending again cannot change: the chat blocked the bot or is gone.
_FINAL = (Forbidden, BadRequest, ChatMigrated)


def sender_name() -> str:
    """Names a claim's owner in the outbox: which process, and which run of it."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class NoticeSender:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        settings: Settings,
        telegram: TelegramChannel | None,
        webchat: Delivery,
        name: str | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._telegram = telegram
        self._webchat = webchat
        self._poll = settings.notice_poll_seconds
        self._max_attempts = settings.notice_max_attempts
        self._lease = timedelta(seconds=settings.notice_claim_lease_seconds)
        self._idle_after = timedelta(minutes=settings.conversation_idle_minutes)
        self.name = name or sender_name()
        # Enough sends under way to keep the limiter busy (a send to Telegram takes a
        # fraction of a second), few enough that a hard kill leaves few claims behind.
        self._most_at_once = max(1, min(100, math.ceil(settings.telegram_messages_per_second)))
        self._under_way: dict[int, asyncio.Task[None]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._stopping: asyncio.Event | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._telegram_resumes_at = 0.0
        self._backoff = FIRST_BACKOFF_SECONDS
        # After a failure that is Telegram's (unreachable, timing out), one notice tries it
        # before the others follow: an outage uses up one notice's attempts at a time, not
        # those of every notice a full pace would have under way.
        self._troubled = False
        self._probe: int | None = None

    # --- lifecycle ---

    def start(self) -> None:
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(self._most_at_once)
        self._loop_task = asyncio.create_task(self.run_forever())

    async def stop(self) -> None:
        """The sends under way finish and are marked (within STOP_GRACE_SECONDS); nothing
        new is taken."""
        if self._stopping is None or self._loop_task is None:
            return
        self._stopping.set()
        await asyncio.wait([self._loop_task, *self._under_way.values()], timeout=STOP_GRACE_SECONDS)
        leftover = [
            task for task in (self._loop_task, *self._under_way.values()) if not task.done()
        ]
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)
        if leftover:
            logger.warning("stopped %d notice sends that did not finish in time", len(leftover))

    async def run_as_job(self) -> None:
        """Sends until cancelled, then stops as gracefully as `stop`: a job for the one
        gateway instance that holds the lease, so that one limiter paces every notice."""
        self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    @property
    def stopping(self) -> bool:
        return self._stopping is not None and self._stopping.is_set()

    async def run_forever(self) -> None:
        assert self._stopping is not None
        last_sweep = -math.inf
        while not self.stopping:
            if time.monotonic() - last_sweep > self._lease.total_seconds() / 2:
                last_sweep = time.monotonic()
                await self._requeue_stale()
            try:
                found = await self.run_once()
            except Exception as error:  # the database may be away for a moment
                logger.error("sending notices failed (%s); trying again", type(error).__name__)
                found = 0
            if not found:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self._poll)

    async def run_once(self) -> int:
        """Starts sending the next queued notices; returns how many it started."""
        assert self._slots is not None
        ids, probe = await asyncio.to_thread(self._queued, leave_out=set(self._under_way))
        if probe is not None:
            self._probe = probe
            ids = sorted({*ids, probe})
        started = 0
        for notice_id in ids:
            await self._slots.acquire()
            if self.stopping:
                self._slots.release()
                break
            task = asyncio.create_task(self._handle_safely(notice_id))
            self._under_way[notice_id] = task
            task.add_done_callback(functools.partial(self._finished, notice_id))
            started += 1
        return started

    def _finished(self, notice_id: int, _task: asyncio.Task[None]) -> None:
        self._under_way.pop(notice_id, None)
        if notice_id == self._probe:
            self._probe = None
        assert self._slots is not None
        self._slots.release()

    # --- one notice ---

    def _telegram_turn(self) -> str:
        """How many of Telegram's queued notices may go now: all, one probe (after a failure
        that was Telegram's), or none (it is not running, or a pause after trouble)."""
        if self._telegram is None:
            return "all"  # taken, to be marked failed: nothing can send them
        if not self._telegram.application.running or time.monotonic() < self._telegram_resumes_at:
            return "none"
        if self._troubled:
            return "probe" if self._probe is None else "none"
        return "all"

    def _queued(self, *, leave_out: set[int]) -> tuple[list[int], int | None]:
        """The next queued notices, and the one that probes Telegram after trouble."""
        turn = self._telegram_turn()
        channels = ["webchat", "telegram"] if turn == "all" else ["webchat"]
        with self._session_factory() as session:
            ids = outbox.queued_notice_ids(
                session, channels=channels, limit=BATCH, leave_out=leave_out
            )
            if turn != "probe":
                return ids, None
            probe = outbox.queued_notice_ids(
                session, channels=["telegram"], limit=1, leave_out=leave_out
            )
            return ids, probe[0] if probe else None

    def _claim(self, notice_id: int) -> tuple[outbox.ClaimedNotice, StoredMessage | None] | None:
        with self._session_factory.begin() as session:
            claim = outbox.claim_notice(
                session, notice_id=notice_id, claimer=self.name, at=utc_now(),
                idle_after=self._idle_after,
            )  # fmt: skip
            if claim is None or claim.message_id is None:
                return None if claim is None else (claim, None)
            message = session.get(Message, claim.message_id)
            return claim, StoredMessage.from_row(message) if message is not None else None

    async def _handle_safely(self, notice_id: int) -> None:
        """A notice that could not even be claimed or marked (the database away) stays as
        it was and is taken again later; the pause keeps that from becoming a busy loop."""
        try:
            await self._handle(notice_id)
        except Exception as error:
            logger.error("notice %d: %s; trying again later", notice_id, type(error).__name__)
            await asyncio.sleep(self._poll)

    async def _handle(self, notice_id: int) -> None:
        claimed = await asyncio.to_thread(self._claim, notice_id)
        if claimed is None:
            return  # another sender took it
        claim, stored = claimed
        if claim.state == "sent" and stored is not None and claim.conversation_id is not None:
            await self._webchat.deliver(claim.conversation_id, [stored])
            return
        if claim.state != "sending" or stored is None:
            return  # skipped (opted out) or failed (the account is someone else's now)
        if self._telegram is None:
            await self._release(notice_id, "TelegramNotConfigured", final=True)
            return
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                external_id = await self._send(self._telegram, int(claim.chat), stored)
        except asyncio.CancelledError:
            # Stopped mid-send: it may or may not have reached Telegram; sent again later.
            await self._release(notice_id, "Interrupted", final=False)
            raise
        except _FINAL as error:
            await self._release(notice_id, type(error).__name__, final=True)
        except (TelegramError, TimeoutError) as error:
            self._telegram_trouble()
            await self._release(notice_id, type(error).__name__, final=False)
        else:
            self._troubled, self._backoff = False, FIRST_BACKOFF_SECONDS
            marked = await asyncio.to_thread(self._mark_sent, notice_id, external_id)
            if not marked:
                logger.warning("notice %d was sent after its claim had run out", notice_id)

    async def _send(self, telegram: TelegramChannel, chat_id: int, stored: StoredMessage) -> str:
        """As the channel sends a reply: long texts in pieces, the button on the last."""
        bot = telegram.application.bot
        pieces = split_text(stored.text or "", limit=MessageLimit.MAX_TEXT_LENGTH)
        sent_id = ""
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            sent = await bot.send_message(
                chat_id,
                piece,
                reply_markup=keyboard(stored.id, stored.buttons) if last else None,
                rate_limit_args=BULK,
            )
            sent_id = str(sent.message_id)
        return sent_id

    def _telegram_trouble(self) -> None:
        """Telegram unreachable or refusing for now: its notices wait, rather than each
        using up its attempts in a few seconds."""
        self._troubled = True
        self._telegram_resumes_at = time.monotonic() + self._backoff
        self._backoff = min(LONGEST_BACKOFF_SECONDS, self._backoff * 2)

    def _mark_sent(self, notice_id: int, external_id: str) -> bool:
        with self._session_factory.begin() as session:
            return outbox.mark_notice_sent(
                session, notice_id=notice_id, claimer=self.name, external_id=external_id,
                at=utc_now(),
            )  # fmt: skip

    async def _release(self, notice_id: int, error: str, *, final: bool) -> None:
        def release() -> str | None:
            with self._session_factory.begin() as session:
                return outbox.release_notice(
                    session, notice_id=notice_id, claimer=self.name, error=error, final=final,
                    max_attempts=self._max_attempts,
                )  # fmt: skip

        state = await asyncio.to_thread(release)
        if state == "failed":
            logger.info("notice %d failed (%s)", notice_id, error)

    async def _requeue_stale(self) -> None:
        def requeue() -> int:
            with self._session_factory.begin() as session:
                return outbox.requeue_stale_claims(session, claimed_before=utc_now() - self._lease)

        try:
            count = await asyncio.to_thread(requeue)
        except Exception as error:
            logger.error("looking for stale notice claims failed (%s)", type(error).__name__)
            return
        if count:
            logger.warning("%d notices claimed by a stopped sender are queued again", count)
