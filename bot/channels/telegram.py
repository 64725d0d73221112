"""The Telegram channel: a python-telegram-bot Application inside the gateway.

Polling in development, a webhook on the gateway in production. Every update is
taken in once (Telegram re-sends what it thinks was missed), the customer's text
is stored before the bot works on it, and replies are stored before they are sent
and marked delivered only when Telegram accepted them; what Telegram refused stays
queued and is sent again. Outgoing calls go through PTB's rate limiter, which also
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
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, MessageLimit
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
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

from bot.channels import telegram_store as store
from bot.channels.relay import ConversationLocks, Relay, invalid_text_reason
from bot.channels.relay_store import StoredMessage
from bot.channels.telegram_text import HELP_BUTTONS, HELP_TEXT, split_text
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


class TelegramChannel:
    """Owns the PTB Application; also the channel's `Delivery` for replies made elsewhere."""

    def __init__(
        self,
        *,
        settings: Settings,
        relay: Relay,
        session_factory: sessionmaker[Session],
        idle_after: timedelta,
    ) -> None:
        self._settings = settings
        self._relay = relay
        self._session_factory = session_factory
        self._idle_after = idle_after
        self._chat_locks = ConversationLocks()
        self._send_locks = ConversationLocks()
        self._webhook = bool(settings.telegram_webhook_url)
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_token.get_secret_value())
            .base_url(settings.telegram_api_url)
            .rate_limiter(AIORateLimiter(max_retries=3))
            .concurrent_updates(True)
        )
        if self._webhook:
            builder = builder.updater(None)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self._add_handlers()

    @property
    def uses_webhook(self) -> bool:
        return self._webhook

    def _add_handlers(self) -> None:
        app = self.application
        app.add_handler(TypeHandler(Update, self.take_in_once), group=-1)
        app.add_handler(CommandHandler(["start", "help"], self.on_help))
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
            assert self.application.updater is not None
            await self.application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        await self.application.start()
        mode = "webhook" if self._webhook else "polling"
        logger.info("Telegram channel started (%s) as @%s", mode, self.application.bot.username)

    async def stop(self) -> None:
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    def secret_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given, webhook_secret(self._settings))

    async def process_webhook(self, data: dict[str, Any]) -> None:
        """Processed before the webhook answers, so an update is stored before Telegram
        considers it delivered."""
        update = Update.de_json(data, self.application.bot)
        await self.application.process_update(update)

    async def take_in_once(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stops an update Telegram sent before (same update_id) from being handled again."""
        if not await asyncio.to_thread(store.claim, self._session_factory, update.update_id):
            logger.info("update %d seen before; skipped", update.update_id)
            raise ApplicationHandlerStop

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start and /help: what the bot can do, with the main topics as buttons."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        await self._answer_locally(chat.id, message.text or "/help", HELP_TEXT, HELP_BUTTONS)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A customer's text: stored, answered by the engine, replies sent."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or message.text is None:
            return
        reason = invalid_text_reason(message.text, max_chars=self._settings.max_message_chars)
        if reason is not None:
            await message.reply_text(f"Sorry, I can't take that message: {reason}.")
            return
        await self._relay_text(chat.id, message.text)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button is the customer choosing its payload."""
        query, chat = update.callback_query, update.effective_chat
        if query is None or chat is None:
            return
        turn = await self._conversation_for(chat.id)
        payload = await asyncio.to_thread(
            store.button_payload,
            self._session_factory,
            data=query.data or "",
            conversation_id=turn.conversation_id,
        )
        if payload is None:
            await query.answer(EXPIRED_BUTTON)
            return
        await query.answer()
        # If this fails the keyboard only stays visible; the choice is still taken.
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)
        await self._relay_text(chat.id, payload)

    async def on_not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice: a polite word instead of silence."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        await self._answer_locally(chat.id, "[non-text message]", NOT_TEXT_REPLY)

    async def _conversation_for(self, chat_id: int) -> store.ChatTurn:
        return await asyncio.to_thread(
            store.conversation_for_chat,
            self._session_factory,
            chat_id=chat_id,
            idle_after=self._idle_after,
        )

    async def _answer_locally(
        self, chat_id: int, customer_text: str, reply: str, buttons: Sequence[Button] = ()
    ) -> None:
        """What the gateway answers itself, without the engine: both sides stored, then sent."""
        turn = await self._conversation_for(chat_id)
        stored = await asyncio.to_thread(
            store.store_local_exchange,
            self._session_factory,
            conversation_id=turn.conversation_id,
            customer_text=customer_text,
            reply=reply,
            buttons=list(buttons) or None,
        )
        await self.deliver(turn.conversation_id, [stored])

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Logs the type only: exception texts can quote customer messages."""
        logger.error("Telegram update failed: %s", type(context.error).__name__)

    async def _relay_text(self, chat_id: int, text: str) -> None:
        async with self._chat_locks.for_conversation(str(chat_id)):
            turn = await self._conversation_for(chat_id)
            accepted = await self._relay.accept(
                conversation_id=turn.conversation_id, channel="telegram", text=text
            )
        with contextlib.suppress(TelegramError):  # only a courtesy
            await self.application.bot.send_chat_action(chat_id, ChatAction.TYPING)
        produced = await self._relay.answer(
            conversation_id=turn.conversation_id, up_to=accepted.message.id
        )
        await self.deliver(turn.conversation_id, produced)

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
