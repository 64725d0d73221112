"""Bodies of the staff's own console routes: the Ops chat and Telegram linking
(docs/console-api.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from bot.web.console_schemas import MessageOut


class ButtonPress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A bot message of the member's own Ops chat, and which of its buttons.
    message_id: StrictInt = Field(ge=1)
    index: StrictInt = Field(ge=0, le=99)


class OpsChat(BaseModel):
    # None when the member has no open Ops chat (the next message starts one).
    conversation_id: str | None
    # Oldest first; after a POST, only what that POST added (the member's message, the
    # bot's replies, and anything another tab sent meanwhile).
    messages: list[MessageOut]


class TelegramLink(BaseModel):
    # Whether this gateway runs the Telegram channel (TELEGRAM_TOKEN is set).
    telegram: bool
    bot_username: str | None
    linked: bool
    linked_at: datetime | None


class LinkCode(BaseModel):
    code: str  # shown once: only its hash is stored
    expires_at: datetime
    bot_username: str | None
    instruction: str
