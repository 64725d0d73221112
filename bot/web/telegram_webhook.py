"""Telegram's webhook on the gateway, for production (TELEGRAM_WEBHOOK_URL set).

The secret header is checked before a byte of the body is read, so a caller without
it costs no parsing. The call is answered only after the update is handled: 200 once
what it brought is stored, 500 when it could not be, so that Telegram sends it again.
(How large a body may be is the size-limit middleware's business, before this route.)
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from telegram import Update

from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH, TelegramChannel
from bot.channels.telegram_intake import UpdateNotStored

logger = logging.getLogger(__name__)

telegram_router = APIRouter(include_in_schema=False)

NOT_JSON = "body must be a Telegram update in JSON"
NOT_AN_UPDATE = "not a Telegram update"
NOT_STORED = "the update could not be stored; send it again"


@telegram_router.post(WEBHOOK_PATH)
async def telegram_webhook(request: Request) -> dict[str, bool]:
    """Takes one update from Telegram; see the module docstring for the answers."""
    channel: TelegramChannel | None = getattr(request.app.state, "telegram", None)
    if channel is None or not channel.uses_webhook:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the Telegram webhook is not enabled")
    if not channel.secret_matches(request.headers.get(SECRET_HEADER)):
        logger.warning("Telegram webhook call with a wrong or missing secret token")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong secret token")
    update = _parsed(channel, await request.body())
    try:
        await channel.process_webhook(update)
    except UpdateNotStored as failure:
        logger.error("Telegram update %d not stored (%s); refused", update.update_id, failure)
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, NOT_STORED) from None
    return {"ok": True}


def _parsed(channel: TelegramChannel, body: bytes) -> Update:
    """The update in the body, or a 422 that quotes none of it."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past Python's stack
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, NOT_JSON) from None
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, NOT_AN_UPDATE)
    try:
        return channel.parse_update(data)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, NOT_AN_UPDATE) from None
