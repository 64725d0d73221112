"""Telegram's webhook on the gateway, for production (TELEGRAM_WEBHOOK_URL set)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Request, status

from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH, TelegramChannel

logger = logging.getLogger(__name__)

telegram_router = APIRouter(include_in_schema=False)


@telegram_router.post(WEBHOOK_PATH)
async def telegram_webhook(
    request: Request,
    update: Annotated[dict[str, Any], Body()],
    secret: Annotated[str | None, Header(alias=SECRET_HEADER)] = None,
) -> dict[str, bool]:
    """Answers only after the update is handled, so it is stored before Telegram lets go."""
    channel: TelegramChannel | None = getattr(request.app.state, "telegram", None)
    if channel is None or not channel.uses_webhook:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the Telegram webhook is not enabled")
    if not channel.secret_matches(secret):
        logger.warning("Telegram webhook call with a wrong or missing secret token")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong secret token")
    if not isinstance(update.get("update_id"), int):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "not a Telegram update")
    await channel.process_webhook(update)
    return {"ok": True}
