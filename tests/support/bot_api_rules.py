"""What the Bot API refuses, as the fake Telegram server checks it (tests/support/fake_telegram.py).

Each rule answers as Telegram does: a `BotApiError` whose status is the error_code and
whose description is Telegram's own wording, so python-telegram-bot maps it to the
same exception it would raise against the real server.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

JSONDict = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
COMMAND = re.compile(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
# Form fields that hold JSON (objects, numbers, booleans); the others are strings.
_JSON_FIELDS = {"reply_markup", "allowed_updates", "chat_id", "message_id", "offset", "limit"}
_JSON_FIELDS |= {"timeout", "show_alert", "drop_pending_updates"}
DESCRIPTIONS = {
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
}


class BotApiError(Exception):
    """A Bot API error answer: the HTTP status is the error_code, as on Telegram."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


def bad_request(detail: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {detail}")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def shown_text(params: JSONDict) -> str:
    """The message text as Telegram shows it: trimmed, 1-4096 long, plain text only."""
    if params.get("parse_mode"):
        raise bad_request("the fake supports plain text only")
    text = str(params.get("text") or "").strip()
    if not text:
        raise bad_request("message text is empty")
    if utf16_length(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return text


def checked_reply_markup(markup: Any, *, inline_only: bool = False) -> JSONDict | None:
    """The reply_markup as Telegram checks it; None when absent."""
    if markup is None:
        return None
    if not isinstance(markup, dict) or not markup:
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if inline_only:
            raise bad_request("inline keyboard expected")
        return markup  # keyboard, remove_keyboard, force_reply: taken as they are
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse inline keyboard button: inline_keyboard must be Array")
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be String')
        if set(button) == {"text"}:
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed")
        data = button.get("callback_data", "-")
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    return markup


async def read_params(request: Request) -> JSONDict:
    """A JSON body, or url-encoded form fields with the JSON ones decoded."""
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            params = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON encoded request parameters") from None
        if not isinstance(params, dict):
            raise bad_request("JSON object expected as request parameters")
        return params
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    for key in _JSON_FIELDS & params.keys():
        with contextlib.suppress(ValueError):  # kept as a string, refused where it matters
            params[key] = json.loads(params[key])
    return params
