"""A fake Telegram Bot API server on loopback, for tests: bots talk to it through
python-telegram-bot's real HTTP client, error mapping, rate limiter and polling loop,
and it refuses what Telegram refuses:
- message text is 1-4096 UTF-16 code units after trimming, and plain text: any
  parse_mode is refused, as the fake parses no entities;
- inline buttons need an action, and their callback_data is 1-64 bytes;
- an edit must change something, and only the bot's own messages can be edited;
- a callback query is answered at most once, with at most 200 characters;
- getUpdates is refused while a webhook is set, and a newer getUpdates ends an older
  one with 409 Conflict; a webhook needs an HTTPS URL.
The checks and their error answers are in tests/support/bot_api_rules.py.

    with FakeTelegram(token="123:ABC") as telegram:
        bot = Bot("123:ABC", base_url=telegram.base_url)  # python-telegram-bot's real Bot
        telegram.push_update(telegram.text_update(42, "hello"))  # for the bot's getUpdates
        telegram.wait_for_messages(42, 1)  # what the bot sent to chat 42
        telegram.text_update(-100, "hi all", user_id=42)  # member 42 writing in group -100

Methods: getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, sendMessage,
editMessageText, editMessageReplyMarkup, answerCallbackQuery, sendChatAction; others
answer 404. Parameters: POSTed url-encoded form fields, objects JSON-encoded in them
(what python-telegram-bot sends), or a JSON body. Served from a thread; the controls
are thread-safe, but a test running the bot on its own event loop must use
`wait_for_messages_async`, as `wait_for_messages` would block the bot.

Updates stay queued until a getUpdates `offset` is above their `update_id`; a negative
offset keeps only the last ones. An update pushed again with an `update_id` already
delivered or confirmed is delivered once more, as when Telegram re-sends one.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.bot_api_rules import (
    COMMAND,
    DESCRIPTIONS,
    MAX_CALLBACK_ANSWER_LENGTH,
    TOKEN_SHAPE,
    BotApiError,
    JSONDict,
    bad_request,
    checked_reply_markup,
    read_params,
    shown_text,
    utf16_length,
)
from tests.support.ports import free_port

ChatType = Literal["private", "group", "supergroup"]


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent, as it was sent (later edits show in `calls`)."""

    message_id: int
    chat_id: int
    text: str  # trimmed, as Telegram shows it
    reply_markup: JSONDict | None
    parse_mode: str | None  # always None: the fake refuses any parse_mode
    received_at: datetime


@dataclass(frozen=True)
class AnsweredCallback:
    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    received_at: datetime


@dataclass
class _Pending:
    update_id: int
    update: JSONDict
    repeat: bool  # pushed again and not delivered since: delivered whatever the offset


class FakeTelegram:
    """A Bot API server for one bot token, on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "shopdesk_test_bot",
        bot_first_name: str = "Shopdesk",
    ) -> None:
        if not TOKEN_SHAPE.fullmatch(token):
            raise ValueError("a bot token looks like '123456:ABC-def'")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSONDict = {"id": self.bot_id, "is_bot": True}
        self.bot_user |= {"first_name": bot_first_name, "username": bot_username}
        self.port = free_port()

        self._lock = threading.Condition()  # reentrant; notified on every sent message
        self._queue: list[_Pending] = []
        self._next_update_id = 1
        self._message_ids = itertools.count(1)  # next() on it is atomic
        self._callback_numbers = itertools.count(1)
        self._highest_offset = 0
        self._delivered_ids: set[int] = set()
        self._delivered: list[JSONDict] = []
        self._messages: dict[tuple[int, int], JSONDict] = {}  # the bot's, as they are now
        self._sent: list[SentMessage] = []
        self._calls: dict[str, list[JSONDict]] = {}
        self._failures: dict[str, list[BotApiError]] = {}
        self._callback_ids: set[str] = set()
        self._answered: list[AnsweredCallback] = []
        self._webhook: JSONDict | None = None
        self._poll_generation = 0  # a newer getUpdates ends the older ones
        self.poll_conflicts = 0  # getUpdates ended by a newer one: two bots were polling
        self._closing = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": lambda params: dict(self.bot_user),
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": lambda params: self._edit(params, shown_text(params)),
            "editMessageReplyMarkup": lambda params: self._edit(params, None),
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": lambda params: self._chat_id(params) is not None,
        }
        route = Route("/bot{token}/{method}", self._endpoint, methods=["POST"])
        self.app = Starlette(routes=[route])

    # --- lifecycle ---

    @property
    def base_url(self) -> str:
        """For PTB's `base_url`: PTB appends the token, then calls `/<method>`."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> None:
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", self.port))
        except OSError:  # taken since __init__ chose it
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, log_level="warning", lifespan="off")
        self._server, self._closing = uvicorn.Server(config), False
        serve = self._server.serve([sock])
        self._thread = threading.Thread(target=asyncio.run, args=(serve,), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake Telegram server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._closing = True  # waiting getUpdates calls answer now
        self._server.should_exit = True
        self._server.force_exit = True  # no waiting for idle keep-alive connections
        self._thread.join(15)
        self._server = self._thread = None

    # --- test controls ---

    def push_update(self, update: JSONDict) -> int:
        """Queue an update for getUpdates; returns its update_id (assigned if missing)."""
        update = copy.deepcopy(update)
        with self._lock:
            update_id = update.setdefault("update_id", self._next_update_id)
            if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
                raise ValueError(f"update_id must be a non-negative int, not {update_id!r}")
            self._next_update_id = max(self._next_update_id, update_id + 1)
            repeat = update_id < self._highest_offset or update_id in self._delivered_ids
            self._queue.append(_Pending(update_id, update, repeat))
            if "callback_query" in update:
                self._callback_ids.add(str(update["callback_query"]["id"]))
        return update_id

    def text_update(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Test",
        chat_type: ChatType | None = None,
    ) -> JSONDict:
        """A text message from a user to the bot (no update_id): in their private chat by
        default, or by member `user_id` in a group or supergroup (a negative `chat_id`)."""
        user = {"id": chat_id if user_id is None else user_id, "is_bot": False}
        chat = self._chat(chat_id, chat_type)
        if chat["type"] == "private":
            chat["first_name"] = first_name
        message: JSONDict = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user | {"first_name": first_name, "language_code": "en"},
            "text": text,
        }
        if command := COMMAND.match(text):
            length = utf16_length(command.group(0))
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"message": message}

    def callback_update(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> JSONDict:
        """A user pressing a button with `data` on the bot's message (no update_id); its query
        may be answered whether the update is fetched by getUpdates or posted to a webhook."""
        callback_id = f"{self.bot_id}{next(self._callback_numbers):08d}"
        with self._lock:
            self._callback_ids.add(callback_id)
            unknown = {"message_id": message_id, "date": 0, "chat": self._chat(chat_id)}
            message = copy.deepcopy(self._messages.get((chat_id, message_id))) or unknown
        user = {"id": chat_id if user_id is None else user_id, "is_bot": False}
        query = {"id": callback_id, "from": user | {"first_name": "Test"}, "data": data}
        query |= {"chat_instance": f"-{abs(chat_id)}{self.bot_id}", "message": message}
        return {"callback_query": query}

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` fail; retry_after is sent only with a 429."""
        if method != "getUpdates" and method not in self._handlers:
            raise ValueError(f"the fake does not implement {method!r}")
        if times < 1 or not 400 <= status <= 599:
            raise ValueError("times must be >= 1 and status an HTTP error status")
        if status == 429:
            description = description or f"Too Many Requests: retry after {retry_after}"
        else:
            retry_after = None
            description = description or DESCRIPTIONS.get(status, f"Error {status}")
        error = BotApiError(status, description, retry_after=retry_after)
        with self._lock:
            self._failures.setdefault(method, []).extend([error] * times)

    def recover(self, method: str) -> None:
        """Calls of `method` succeed again: the failures `fail_next` still had are dropped."""
        with self._lock:
            self._failures.pop(method, None)

    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        with self._lock:
            return [m for m in self._sent if chat_id is None or m.chat_id == chat_id]

    def wait_for_messages(
        self, chat_id: int, count: int, timeout: float = 30.0
    ) -> list[SentMessage]:
        """Blocks until `count` messages were sent to `chat_id`; returns all sent to it."""
        if asyncio._get_running_loop() is not None:
            raise RuntimeError("this would block the event loop: use wait_for_messages_async")
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(sent := self.sent_messages(chat_id)) < count:
                if (remaining := deadline - time.monotonic()) <= 0:
                    raise AssertionError(self._not_sent(chat_id, count, timeout, sent))
                self._lock.wait(remaining)
            return sent

    async def wait_for_messages_async(
        self, chat_id: int, count: int, timeout: float = 30.0
    ) -> list[SentMessage]:
        """As wait_for_messages, for a test whose event loop also runs the bot."""
        deadline = time.monotonic() + timeout
        while len(sent := self.sent_messages(chat_id)) < count:
            if time.monotonic() >= deadline:
                raise AssertionError(self._not_sent(chat_id, count, timeout, sent))
            await asyncio.sleep(0.02)
        return sent

    def _not_sent(self, chat_id: int, count: int, timeout: float, sent: list[SentMessage]) -> str:
        others = sorted({m.chat_id for m in self.sent_messages()} - {chat_id})
        return (
            f"expected {count} message(s) to chat {chat_id} within {timeout}s, "
            f"got {len(sent)}: {[m.text for m in sent]!r}"
            + (f" (messages went to chats {others})" if others else "")
        )

    def calls(self, method: str) -> list[JSONDict]:
        """The parameters of every call to `method`, failed ones included, in order."""
        with self._lock:
            return copy.deepcopy(self._calls.get(method, []))

    def answered_callbacks(self) -> list[AnsweredCallback]:
        with self._lock:
            return list(self._answered)

    def delivered_updates(self) -> list[JSONDict]:
        """Every update getUpdates returned, in order, repeats included."""
        with self._lock:
            return copy.deepcopy(self._delivered)

    async def _endpoint(self, request: Request) -> JSONResponse:
        token, name = request.path_params["token"], request.path_params["method"]
        if token != self.token:
            status = 401 if TOKEN_SHAPE.fullmatch(token) else 404
            return BotApiError(status, DESCRIPTIONS[status]).response()
        refused: BotApiError | None = None
        try:
            params = await read_params(request)
        except BotApiError as error:
            params, refused = {}, error
        try:
            with self._lock:
                self._calls.setdefault(name, []).append(copy.deepcopy(params))
                if refused is not None:
                    raise refused
                if name != "getUpdates" and name not in self._handlers:
                    raise BotApiError(404, "Not Found: method not found")
                if failures := self._failures.get(name):
                    raise failures.pop(0)
            if name == "getUpdates":
                result = await self._get_updates(params, request)
            else:
                result = self._handlers[name](params)
        except BotApiError as error:
            return error.response()
        return JSONResponse({"ok": True, "result": result})

    @staticmethod
    def _chat(chat_id: int, chat_type: ChatType | None = None) -> JSONDict:
        """A private chat for a positive id, a group for a negative one, unless told."""
        kind = chat_type or ("private" if chat_id > 0 else "group")
        if kind == "private":
            return {"id": chat_id, "type": kind, "first_name": "Test"}
        return {"id": chat_id, "type": kind, "title": f"Test {kind}"}

    @staticmethod
    def _chat_id(params: JSONDict) -> int:
        value = params.get("chat_id")
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad_request("chat not found" if value else "chat_id is empty")
        return value

    # --- Bot API methods ---

    async def _get_updates(self, params: JSONDict, request: Request) -> list[JSONDict]:
        if self._webhook is not None:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset, limit, timeout = (params.get(k, 0) for k in ("offset", "limit", "timeout"))
        if not all(isinstance(v, int | float) for v in (offset, limit, timeout)):
            raise bad_request("wrong parameter in getUpdates request")
        limit = min(max(int(limit), 1), 100) if limit else 100
        self._poll_generation += 1
        generation = self._poll_generation
        with self._lock:  # Telegram's offset: updates below it are confirmed and forgotten
            if offset > 0:
                self._highest_offset = max(self._highest_offset, int(offset))
                self._queue = [p for p in self._queue if p.update_id >= offset or p.repeat]
            elif offset < 0:
                self._queue = sorted(self._queue, key=lambda p: p.update_id)[int(offset) :]
        deadline = time.monotonic() + timeout
        while not (self._queue or self._closing) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            if generation != self._poll_generation:
                if await request.is_disconnected():
                    return []  # a poller that died: nobody hears of the conflict
                self.poll_conflicts += 1
                raise BotApiError(409, DESCRIPTIONS[409])
        if await request.is_disconnected():
            return []  # nobody to deliver to: the updates stay queued
        with self._lock:
            batch = sorted(self._queue, key=lambda p: p.update_id)[:limit]
            for pending in batch:
                pending.repeat = False
                self._delivered_ids.add(pending.update_id)
                self._delivered.append(copy.deepcopy(pending.update))
            return [copy.deepcopy(p.update) for p in batch]

    def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        parts = urlsplit(url)
        if url and (parts.scheme != "https" or not parts.hostname):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._delete_webhook(params)
        if url:
            self._webhook = {"url": url, "allowed_updates": params.get("allowed_updates")}
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        with self._lock:
            self._webhook = None
            if params.get("drop_pending_updates"):
                self._queue.clear()
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {"url": "", "has_custom_certificate": False}
        info["pending_update_count"] = len(self._queue)
        if self._webhook is not None:
            info |= {key: value for key, value in self._webhook.items() if value is not None}
        return info

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id, text = self._chat_id(params), shown_text(params)
        markup = checked_reply_markup(params.get("reply_markup"))
        with self._lock:
            message_id = next(self._message_ids)
            message: JSONDict = {"message_id": message_id, "date": int(time.time()), "text": text}
            message |= {"from": dict(self.bot_user), "chat": self._chat(chat_id)}
            if markup is not None and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            self._messages[(chat_id, message_id)] = copy.deepcopy(message)
            sent = SentMessage(message_id, chat_id, text, markup, None, datetime.now(UTC))
            self._sent.append(copy.deepcopy(sent))
            self._lock.notify_all()
            return message

    def _edit(self, params: JSONDict, text: str | None) -> JSONDict:
        """Edits the bot's own message: the new text (None: kept) and inline keyboard."""
        chat_id, message_id = self._chat_id(params), params.get("message_id")
        markup = checked_reply_markup(params.get("reply_markup"), inline_only=True)
        with self._lock:
            if not isinstance(message_id, int) or (chat_id, message_id) not in self._messages:
                raise bad_request("message to edit not found")
            message = self._messages[(chat_id, message_id)]
            text = message["text"] if text is None else text
            if text == message["text"] and markup == message.get("reply_markup"):
                raise bad_request(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
            message |= {"text": text, "edit_date": int(time.time())}
            message.pop("reply_markup", None)
            if markup is not None:
                message["reply_markup"] = markup
            return copy.deepcopy(message)

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id, text = str(params.get("callback_query_id")), params.get("text")
        if text is not None and utf16_length(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        with self._lock:
            answered = {answer.callback_query_id for answer in self._answered}
            if query_id not in self._callback_ids - answered:
                raise bad_request(
                    "query is too old and response timeout expired or query ID is invalid"
                )
            alert, url = bool(params.get("show_alert", False)), params.get("url")
            text = None if text is None else str(text)
            self._answered.append(AnsweredCallback(query_id, text, alert, url, datetime.now(UTC)))
        return True
