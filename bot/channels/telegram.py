"""The Telegram channel: a python-telegram-bot Application inside the gateway.

Polling in development, a webhook on the gateway in production. Every gateway instance
starts the Application (to send, and in webhook mode to take updates); in polling mode
only the one that runs the single-instance jobs fetches updates (`poll_updates`), since
Telegram answers a second getUpdates with a conflict. Customers are served
in private chats only, and their account is their Telegram user: in a group, one
member's proof would link everyone in it.

Nothing Telegram delivers is lost on the way in: an update's id is claimed in the
transaction that stores what it brought, so an update is "seen" exactly when it is
stored. If handling fails before that, the webhook answers with an error and Telegram
sends the update again; in polling mode PTB has confirmed it to Telegram already, so
the gateway retries it a few times itself (webhook mode is the durable one).

Replies are stored before they are sent and marked delivered only when Telegram
accepted them; what Telegram refused stays queued and is sent again. Outgoing calls go
through the one limiter every Telegram send shares (telegram_limiter.py), which also
waits out a 429's `retry_after`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ChatType, MessageLimit
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.channels import telegram_staff as staff
from bot.channels import telegram_store as store
from bot.channels.notice_buttons import notice_button_payload
from bot.channels.relay import ConversationLocks, Relay, invalid_text_reason
from bot.channels.relay_store import StoredMessage, UpdateAlreadyTaken
from bot.channels.telegram_intake import DurableIntake
from bot.channels.telegram_pacing import shared_rate_limiter
from bot.channels.telegram_text import HELP_BUTTONS, HELP_TEXT, split_text
from bot.security.client_limits import RATE_LIMITED_REPLY, ClientLimits
from bot.security.clients import telegram_client_key
from bot.security.rate_limit import SlidingWindowLimiter
from bot.settings import Settings
from bot.storage.tables import Button

# PTB 22 is moving durations (a 429's retry_after, among others) from seconds to
# timedelta and warns on every RetryAfter until a program opts in. Shopdesk reads
# none of them itself (the rate limiter does, as timedelta), so it opts in.
os.environ.setdefault("PTB_TIMEDELTA", "true")

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
NOT_TEXT_REPLY = "I can only read text messages. Please type your question."
EXPIRED_BUTTON = "That button has expired; please type your question."
NO_TEXT_WITH_BUTTONS = "Please choose:"
# At most 200 characters: it is also the answer to a button pressed in a group.
PRIVATE_ONLY_REPLY = (
    "I can only help you in a private chat, where your orders stay between us. "
    "Please message me directly."
)
GROUP_NOTICE_SECONDS = 600.0  # a group hears PRIVATE_ONLY_REPLY at most this often
# Codes that did not work, per chat, before /link pauses (docs/security.md).
LINK_FAILURES_PER_CHAT = 5
LINK_FAILURES_WINDOW_SECONDS = 900.0


def webhook_secret(settings: Settings) -> str:
    """The configured secret, or one derived from the token (Telegram allows [A-Za-z0-9_-])."""
    configured = settings.telegram_webhook_secret.get_secret_value()
    if configured:
        return configured
    token = settings.telegram_token.get_secret_value()
    return hashlib.sha256(f"shopdesk-webhook:{token}".encode()).hexdigest()


def button_data(message_id: int, index: int) -> str:
    """Telegram allows 64 bytes of callback data; payloads can be longer, so refer to them."""
    return f"b:{message_id}:{index}"


def keyboard(message_id: int, buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["title"][:64], callback_data=button_data(message_id, i))]
         for i, b in enumerate(buttons)]
    )  # fmt: skip


@dataclass(frozen=True)
class Origin:
    """Who sent an update and where replies go: in a private chat, the user's own id."""

    update_id: int
    user_id: int
    chat_id: int

    @classmethod
    def of(cls, update: Update) -> Origin | None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return None
        return cls(update.update_id, user.id, chat.id)


class TelegramChannel:
    """Owns the PTB Application; also the channel's `Delivery` for replies made elsewhere."""

    def __init__(
        self,
        *,
        settings: Settings,
        relay: Relay,
        session_factory: sessionmaker[Session],
        idle_after: timedelta,
        limits: ClientLimits,
    ) -> None:
        self._settings = settings
        self._relay = relay
        self._session_factory = session_factory
        self._idle_after = idle_after
        self._limits = limits
        window = limits.messages.window_seconds
        self._limit_notices = SlidingWindowLimiter(limit=1, window_seconds=window)
        self._group_notices = SlidingWindowLimiter(limit=1, window_seconds=GROUP_NOTICE_SECONDS)
        self._link_failures = SlidingWindowLimiter(
            limit=LINK_FAILURES_PER_CHAT, window_seconds=LINK_FAILURES_WINDOW_SECONDS
        )
        self._user_locks = ConversationLocks()
        self._send_locks = ConversationLocks()
        self._webhook = bool(settings.telegram_webhook_url)
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_token.get_secret_value())
            .base_url(settings.telegram_api_url)
            .rate_limiter(shared_rate_limiter(settings))
            .concurrent_updates(True)
        )
        if self._webhook:
            builder = builder.updater(None)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self._intake = DurableIntake(application=self.application, session_factory=session_factory)
        self._add_handlers()
        self.started = asyncio.Event()

    @property
    def uses_webhook(self) -> bool:
        return self._webhook

    @property
    def username(self) -> str | None:
        """The bot's @name, for the console's "send /link CODE to @…"; None until started."""
        try:
            username: str = self.application.bot.username
        except RuntimeError:  # PTB: not initialised yet (the Bot API was unreachable)
            return None
        return username

    def _add_handlers(self) -> None:
        app = self.application
        app.add_handler(TypeHandler(Update, self.only_private_chats), group=-1)
        app.add_handler(CommandHandler(["start", "help"], self.on_help))
        app.add_handler(CommandHandler("link", self.on_link))
        app.add_handler(CommandHandler("unlink", self.on_unlink))
        app.add_handler(MessageHandler(filters.TEXT, self.on_text))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(~filters.TEXT, self.on_not_text))
        app.add_error_handler(self.on_error)

    async def start(self) -> None:
        """Raises TelegramError if the Bot API refuses the token or cannot be reached."""
        await self.application.initialize()
        if self._webhook:
            await self.application.bot.set_webhook(
                self._settings.telegram_webhook_url,
                secret_token=webhook_secret(self._settings),
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await self.application.bot.delete_webhook()
        await self.application.start()
        self.started.set()
        mode = "webhook" if self._webhook else "polling"
        logger.info("Telegram channel started (%s) as @%s", mode, self.application.bot.username)

    async def poll_updates(self) -> None:
        """Fetches updates until cancelled, once the channel has started; a job for the one
        gateway instance that holds the lease (polling mode only)."""
        await self.started.wait()
        updater = self.application.updater
        assert updater is not None, "polling needs the Updater that webhook mode leaves out"
        await updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        logger.info("this gateway instance now fetches Telegram's updates")
        try:
            await asyncio.Event().wait()
        finally:
            if updater.running:
                await updater.stop()

    async def resend_forever(self, *, every_seconds: float) -> None:
        """Sends again what Telegram refused, once the channel has started; a job for one
        gateway instance, or two would send the same reply twice."""
        await self.started.wait()
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await self.resend_undelivered()
            except Exception as error:
                logger.error("re-sending to Telegram failed (%s)", type(error).__name__)

    async def stop(self) -> None:
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        await self._intake.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    def secret_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given, webhook_secret(self._settings))

    def parse_update(self, data: dict[str, Any]) -> Update:
        """Raises ValueError for JSON that PTB cannot read as an update."""
        try:
            return Update.de_json(data, self.application.bot)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ValueError("not a Telegram update") from error

    async def process_webhook(self, update: Update) -> None:
        """Raises UpdateNotStored if its message could not be stored, so that the webhook
        answers with an error and Telegram sends the update again."""
        await self._intake.process(update)

    async def only_private_chats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Serves customers one to one: in a group, one member's proof would link them all."""
        chat, user = update.effective_chat, update.effective_user
        if chat is not None and chat.type == ChatType.PRIVATE and user is not None:
            return
        kind = chat.type if chat is not None else "unknown"
        logger.info("update %d from a %s chat: asked for a private chat", update.update_id, kind)
        with contextlib.suppress(TelegramError):  # a courtesy; nothing is taken in either way
            if update.callback_query is not None:
                await update.callback_query.answer(PRIVATE_ONLY_REPLY)
            elif chat is not None and self._group_notices.hit(str(chat.id)).allowed:
                await self.application.bot.send_message(chat.id, PRIVATE_ONLY_REPLY)
        raise ApplicationHandlerStop

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start and /help: what the bot can do, with the main topics as buttons."""
        message, origin = update.effective_message, Origin.of(update)
        if message is None or origin is None:
            return
        await self._answer_locally(origin, message.text or "/help", HELP_TEXT, HELP_BUTTONS)

    async def on_link(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/link CODE: a staff member's chat, linked by the gateway; never the engine's."""
        message, origin = update.effective_message, Origin.of(update)
        if message is None or origin is None:
            return
        allowed = self._link_failures.peek(str(origin.chat_id))
        code = staff.command_argument(message.text or "")
        outcome = await self._staff_command(
            origin, staff.STORED_LINK_TEXT, staff.link_with(code, allowed)
        )
        if outcome is not None and outcome.failed:
            self._link_failures.record(str(origin.chat_id))

    async def on_unlink(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/unlink: the chat is a customer's again, at once."""
        origin = Origin.of(update)
        if update.effective_message is not None and origin is not None:
            await self._staff_command(origin, staff.STORED_UNLINK_TEXT, staff.unlink)

    async def _staff_command(
        self, origin: Origin, shown_text: str, act: staff.Act
    ) -> staff.Outcome | None:
        if not await self._within_limit(origin):
            return None
        async with self._user_locks.for_conversation(str(origin.user_id)):
            handled = await asyncio.to_thread(
                staff.handle_command,
                self._session_factory,
                update_id=origin.update_id,
                user_id=origin.user_id,
                idle_after=self._idle_after,
                shown_text=shown_text,
                act=act,
            )
        if handled is None:
            return None
        await self.deliver(handled.conversation_id, [handled.reply])
        return handled.outcome

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A customer's text: counted, stored with its update's claim, answered by the engine."""
        message, origin = update.effective_message, Origin.of(update)
        if message is None or message.text is None or origin is None:
            return
        command = staff.STAFF_COMMAND.match(message.text)
        if command is not None:  # typed without Telegram's command mark: still never the engine's
            handler = self.on_link if command.group(1).lower() == "link" else self.on_unlink
            await handler(update, context)
            return
        if not await self._within_limit(origin):
            return
        reason = invalid_text_reason(message.text, max_chars=self._settings.max_message_chars)
        if reason is not None:
            if await self._claim_only(origin):
                await message.reply_text(f"Sorry, I can't take that message: {reason}.")
            return
        stored = await self._store(origin, message.text)
        if stored is not None:
            await self._answer(origin, stored)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button is the customer choosing its payload: that is stored."""
        query, origin = update.callback_query, Origin.of(update)
        if query is None or origin is None or not await self._within_limit(origin, query):
            return
        turn = await self._conversation_for(origin.user_id)
        payload = await asyncio.to_thread(
            store.button_payload,
            self._session_factory,
            data=query.data or "",
            conversation_id=turn.conversation_id,
        )
        if payload is None:  # the button under a notice outlives its conversation
            payload = await asyncio.to_thread(
                notice_button_payload, self._session_factory, data=query.data or "",
                account_id=turn.account_id,
            )  # fmt: skip
        if payload is None:
            if await self._claim_only(origin):
                await query.answer(EXPIRED_BUTTON)
            return
        stored = await self._store(origin, payload)
        if stored is None:
            return
        # Courtesies: the choice is taken even if the spinner or the keyboard stays.
        with contextlib.suppress(TelegramError):
            await query.answer()
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)
        await self._answer(origin, stored)

    async def on_not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice: a polite word instead of silence."""
        origin = Origin.of(update)
        if update.effective_message is None or origin is None:
            return
        await self._answer_locally(origin, "[non-text message]", NOT_TEXT_REPLY)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Logs the type only (errors can quote messages); the intake follows up the update."""
        failure = type(context.error).__name__
        logger.error("Telegram update failed: %s", failure)
        await self._intake.failed(update, failure)
        raise ApplicationHandlerStop  # no later handler group works on a failed update

    async def _within_limit(self, origin: Origin, query: CallbackQuery | None = None) -> bool:
        """Counts the update against its user's message budget. One over it is claimed (so
        a re-send is not taken later either) and told why at most once per window."""
        if self._limits.messages.hit(telegram_client_key(origin.user_id)).allowed:
            return True
        logger.info("update %d is over its sender's message limit", origin.update_id)
        if await self._claim_only(origin):
            if self._limit_notices.hit(str(origin.user_id)).allowed:
                await self.application.bot.send_message(origin.chat_id, RATE_LIMITED_REPLY)
            if query is not None:
                await query.answer()
        return False

    async def _claim_only(self, origin: Origin) -> bool:
        """For an update that stores nothing; False if it was taken in before."""
        return await asyncio.to_thread(store.claim, self._session_factory, origin.update_id)

    async def _conversation_for(self, user_id: int) -> store.ChatTurn:
        return await asyncio.to_thread(
            store.conversation_for_user,
            self._session_factory,
            user_id=user_id,
            idle_after=self._idle_after,
        )

    async def _store(self, origin: Origin, text: str) -> StoredMessage | None:
        """The customer's text, with its update's claim; None if taken in before."""
        async with self._user_locks.for_conversation(str(origin.user_id)):
            turn = await self._conversation_for(origin.user_id)
            try:
                accepted = await self._relay.accept(
                    conversation_id=turn.conversation_id,
                    channel="telegram",
                    text=text,
                    telegram_update_id=origin.update_id,
                )
            except UpdateAlreadyTaken:
                logger.info("update %d taken in before; skipped", origin.update_id)
                return None
        return accepted.message

    async def _answer(self, origin: Origin, stored: StoredMessage) -> None:
        """The engine's replies to the stored message (and any earlier one still waiting)."""
        with contextlib.suppress(TelegramError):  # only a courtesy
            await self.application.bot.send_chat_action(origin.chat_id, ChatAction.TYPING)
        produced = await self._relay.answer(conversation_id=stored.conversation_id, up_to=stored.id)
        await self.deliver(stored.conversation_id, produced)

    async def _answer_locally(
        self, origin: Origin, customer_text: str, reply: str, buttons: Sequence[Button] = ()
    ) -> None:
        """What the gateway answers itself, without the engine: both sides stored, then sent."""
        if not await self._within_limit(origin):
            return
        turn = await self._conversation_for(origin.user_id)
        stored = await asyncio.to_thread(
            store.store_local_exchange,
            self._session_factory,
            update_id=origin.update_id,
            conversation_id=turn.conversation_id,
            customer_text=customer_text,
            reply=reply,
            buttons=list(buttons) or None,
        )
        if stored is not None:
            await self.deliver(turn.conversation_id, [stored])

    async def deliver(self, conversation_id: str, messages: Sequence[StoredMessage]) -> None:
        """Sends in order; stops at the first refusal so later messages never overtake it."""
        if not messages:
            return
        chat_id = await asyncio.to_thread(store.chat_of, self._session_factory, conversation_id)
        if chat_id is None:
            logger.error("no Telegram chat for conversation %s", conversation_id)
            return
        async with self._send_locks.for_conversation(conversation_id):
            for message in messages:
                # A live turn and the retry loop may both hold it; whoever is second skips.
                if not await asyncio.to_thread(
                    store.still_queued, self._session_factory, message.id
                ):
                    continue
                try:
                    external_id = await self._send(chat_id, message)
                except TelegramError as error:
                    logger.warning(
                        "Telegram refused message %d (%s); kept for a retry",
                        message.id,
                        type(error).__name__,
                    )
                    return
                await asyncio.to_thread(
                    store.mark_sent,
                    self._session_factory,
                    message_id=message.id,
                    external_id=external_id,
                )

    async def _send(self, chat_id: int, message: StoredMessage) -> str:
        """Long texts go as several messages; the buttons ride on the last one."""
        chunks = split_text(
            message.text or NO_TEXT_WITH_BUTTONS, limit=MessageLimit.MAX_TEXT_LENGTH
        )
        sent_id = ""
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            sent = await self.application.bot.send_message(
                chat_id,
                chunk,
                reply_markup=keyboard(message.id, message.buttons) if last else None,
            )
            sent_id = str(sent.message_id)
        return sent_id

    async def resend_undelivered(self) -> None:
        """Sends again what Telegram refused before (after the rate limiter gave up)."""
        waiting = await asyncio.to_thread(store.undelivered, self._session_factory)
        by_conversation: dict[str, list[StoredMessage]] = {}
        for message in waiting:
            by_conversation.setdefault(message.conversation_id, []).append(message)
        for conversation_id, messages in by_conversation.items():
            await self.deliver(conversation_id, messages)
