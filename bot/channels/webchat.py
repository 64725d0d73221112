"""The web chat channel: one WebSocket per open page, speaking docs/webchat-protocol.md.

A customer message is stored and acknowledged before the bot works on it, and the
answer runs in its own task: a page that closes mid-turn loses nothing, because
replies are stored and come back as history when the page reconnects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.channels.relay import Relay, invalid_text_reason
from bot.channels.relay_store import StoredMessage
from bot.channels.session_tokens import issue_token, new_session_id, session_id_from
from bot.channels.webchat_hub import Connection, WebChatHub, message_frame
from bot.security.client_limits import FRAMES_LIMITED, ClientLimits
from bot.security.clients import client_key
from bot.security.rate_limit import Verdict
from bot.storage.accounts import current_conversation, get_account, get_or_create_account
from bot.storage.conversations import list_messages, mark_delivered_up_to, unanswered_messages
from bot.storage.notices import carry_unseen_notices
from bot.storage.tables import Conversation

logger = logging.getLogger(__name__)

CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# Close code for "try again later" (RFC 6455's registry, 1013).
TRY_AGAIN_LATER = 1013
NEW_CHATS_LIMITED = (
    "Too many new chats have been started from your network. "
    "Please wait {seconds} seconds; the chat will connect by itself."
)
MESSAGES_LIMITED = (
    "You're sending messages faster than I can take them. "
    "This one will be sent again by itself in {seconds} seconds."
)


@dataclass(frozen=True)
class _Session:
    token: str
    account_id: int
    conversation_id: str
    new_conversation: bool


def _open_session(
    session_factory: sessionmaker[Session],
    *,
    session_id: str,
    secret: str,
    idle_after: timedelta,
    client: str,
) -> _Session:
    with session_factory.begin() as session:
        account = get_or_create_account(session, channel="webchat", external_id=session_id)
        current = current_conversation(
            session, account=account, idle_after=idle_after, client_key=client
        )
        if current.started:  # incident notices the page never showed come along
            carry_unseen_notices(
                session, account_id=account.id, conversation_id=current.conversation.id
            )
        return _Session(
            token=issue_token(secret, session_id),
            account_id=account.id,
            conversation_id=current.conversation.id,
            new_conversation=current.previous_id is not None,
        )


def _history(
    session_factory: sessionmaker[Session], *, conversation_id: str, after_id: int
) -> list[StoredMessage]:
    with session_factory() as session:
        return [
            StoredMessage.from_row(message)
            for message in list_messages(
                session, conversation_id=conversation_id, after_id=after_id
            )
        ]


def _mark_delivered(
    session_factory: sessionmaker[Session], *, conversation_id: str, up_to: int
) -> None:
    with session_factory.begin() as session:
        mark_delivered_up_to(session, conversation_id=conversation_id, up_to=up_to)


def _current_conversation_id(
    session_factory: sessionmaker[Session], *, account_id: int, idle_after: timedelta, client: str
) -> str:
    with session_factory.begin() as session:
        account = get_account(session, account_id=account_id)
        if account is None:
            raise LookupError(f"no channel account {account_id}")
        current = current_conversation(
            session, account=account, idle_after=idle_after, client_key=client
        )
        return current.conversation.id


def _with_bot(session_factory: sessionmaker[Session], conversation_id: str) -> bool:
    with session_factory() as session:
        conversation = session.get(Conversation, conversation_id)
        return conversation is None or conversation.state == "bot"


def _unanswered(
    session_factory: sessionmaker[Session], conversation_id: str, message_id: int
) -> bool:
    with session_factory() as session:
        waiting = unanswered_messages(session, conversation_id=conversation_id)
        return any(message.id == message_id for message in waiting)


class WebChatSession:
    """Serves one WebSocket from `hello` to close."""

    def __init__(
        self,
        websocket: WebSocket,
        *,
        hub: WebChatHub,
        relay: Relay,
        session_factory: sessionmaker[Session],
        secret: str,
        idle_after: timedelta,
        max_chars: int,
        tasks: set[asyncio.Task[None]],
        limits: ClientLimits,
    ) -> None:
        self._connection = Connection(websocket)
        self._client = client_key(websocket)
        self._limits = limits
        self._hub = hub
        self._relay = relay
        self._session_factory = session_factory
        self._secret = secret
        self._idle_after = idle_after
        self._max_chars = max_chars
        self._max_frame_bytes = max_chars * 12 + 1024
        self._tasks = tasks
        self._account_id: int | None = None

    async def serve(self) -> None:
        await self._connection.websocket.accept()
        try:
            while True:
                raw = await self._connection.websocket.receive_text()
                if not await self._within_frame_limit():
                    return
                await self._on_frame(raw)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the page went away; what it sent is stored, what it missed comes back
        finally:
            self._hub.detach(self._connection)

    async def _error(
        self, code: str, detail: str, client_id: str | None = None, **extra: object
    ) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail, **extra}
        if client_id is not None:
            frame["client_id"] = client_id
        await self._connection.send(frame)

    async def _within_frame_limit(self) -> bool:
        """Over the limit, the page is told why and disconnected; it reconnects later."""
        verdict = self._limits.frames.hit(self._client)
        if verdict.allowed:
            return True
        await self._rate_limited(verdict, FRAMES_LIMITED)
        await self._connection.websocket.close(code=TRY_AGAIN_LATER)
        return False

    async def _rate_limited(
        self, verdict: Verdict, template: str, client_id: str | None = None
    ) -> None:
        seconds = verdict.retry_after_header
        await self._error(
            "rate_limited",
            template.format(seconds=seconds),
            client_id,
            retry_after=int(seconds),
        )

    async def _on_frame(self, raw: str) -> None:
        if len(raw.encode("utf-8", "surrogatepass")) > self._max_frame_bytes:
            await self._error(
                "frame_too_large",
                f"message is too large; text may have at most {self._max_chars} characters",
                _client_id_in(raw),
            )
            return
        try:
            frame = json.loads(raw)
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self._error("bad_frame", 'frames must be JSON objects with a "type"')
            return
        kind = frame["type"]
        if kind == "hello":
            await self._on_hello(frame)
        elif self._account_id is None:
            await self._error("hello_required", "send hello first")
        elif kind == "message":
            await self._on_message(frame)
        elif kind == "delivered":
            await self._on_delivered(frame)
        elif kind == "ping":
            await self._connection.send({"type": "pong"})
        else:
            await self._error("bad_frame", f"unknown frame type {kind[:40]!r}")

    async def _on_hello(self, frame: dict[str, Any]) -> None:
        last_seen = frame.get("last_seen", 0)
        if isinstance(last_seen, bool) or not isinstance(last_seen, int) or last_seen < 0:
            await self._error("bad_frame", "last_seen must be a non-negative integer")
            return
        session_id = session_id_from(self._secret, frame.get("session"))
        if session_id is None:  # a new visitor: new sessions are limited per client
            verdict = self._limits.conversations.hit(self._client)
            if not verdict.allowed:
                await self._rate_limited(verdict, NEW_CHATS_LIMITED)
                await self._connection.websocket.close(code=TRY_AGAIN_LATER)
                return
            session_id = new_session_id()
        opened = await asyncio.to_thread(
            _open_session,
            self._session_factory,
            session_id=session_id,
            secret=self._secret,
            idle_after=self._idle_after,
            client=self._client,
        )
        self._account_id = opened.account_id
        self._hub.attach(self._connection, opened.conversation_id)
        await self._connection.send(
            {
                "type": "welcome",
                "session": opened.token,
                "conversation_id": opened.conversation_id,
                "idle_timeout_seconds": int(self._idle_after.total_seconds()),
            }
        )
        if opened.new_conversation:
            await self._connection.send(
                {
                    "type": "conversation",
                    "conversation_id": opened.conversation_id,
                    "reason": "idle",
                }
            )
        history = await asyncio.to_thread(
            _history,
            self._session_factory,
            conversation_id=opened.conversation_id,
            after_id=last_seen,
        )
        for message in history:
            await self._connection.send({"type": "message", "message": message_frame(message)})

    async def _on_message(self, frame: dict[str, Any]) -> None:
        client_id, text = frame.get("client_id"), frame.get("text")
        if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
            await self._error(
                "bad_frame", "client_id must be 8 to 64 characters of A-Z a-z 0-9 _ -"
            )
            return
        if not isinstance(text, str):
            await self._error("invalid_text", "text must be a string", client_id)
            return
        reason = invalid_text_reason(text, max_chars=self._max_chars)
        if reason is not None:
            await self._error("invalid_text", reason, client_id)
            return
        verdict = self._limits.messages.hit(self._client)
        if not verdict.allowed:  # not stored: the page keeps it and sends it again
            await self._rate_limited(verdict, MESSAGES_LIMITED, client_id)
            return
        conversation_id = await self._conversation_for_new_message()
        accepted = await self._relay.accept(
            conversation_id=conversation_id,
            channel="webchat",
            text=text,
            client_message_id=client_id,
        )
        await self._connection.send(
            {"type": "ack", "client_id": client_id, "message": message_frame(accepted.message)}
        )
        if not accepted.duplicate:
            # Also to the customer's other open pages (tabs) of this conversation.
            await self._hub.broadcast(
                conversation_id,
                {"type": "message", "message": message_frame(accepted.message)},
                exclude=self._connection,
            )
        elif not await asyncio.to_thread(
            _unanswered, self._session_factory, conversation_id, accepted.message.id
        ):
            return
        # A duplicate still unanswered was sent again from the outbox after the gateway
        # that stored it died mid-turn: answering it now beats the replayer's wait.
        task = asyncio.create_task(self._answer(conversation_id, accepted.message.id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _conversation_for_new_message(self) -> str:
        """The idle timeout may have closed the conversation since `hello`."""
        assert self._account_id is not None
        conversation_id = await asyncio.to_thread(
            _current_conversation_id,
            self._session_factory,
            account_id=self._account_id,
            idle_after=self._idle_after,
            client=self._client,
        )
        if conversation_id != self._connection.conversation_id:
            self._hub.attach(self._connection, conversation_id)
            await self._connection.send(
                {"type": "conversation", "conversation_id": conversation_id, "reason": "idle"}
            )
        return conversation_id

    async def _answer(self, conversation_id: str, message_id: int) -> None:
        """Runs apart from the socket, so a closed page does not cancel the turn."""
        # "Typing" only when the bot answers: with a person, the agent's console shows it.
        with_bot = await asyncio.to_thread(_with_bot, self._session_factory, conversation_id)
        if with_bot:
            await self._hub.broadcast(conversation_id, {"type": "typing", "on": True})
        try:
            produced = await self._relay.answer(conversation_id=conversation_id, up_to=message_id)
            await self._hub.deliver(conversation_id, produced)
        finally:
            if with_bot:
                await self._hub.broadcast(conversation_id, {"type": "typing", "on": False})

    async def _on_delivered(self, frame: dict[str, Any]) -> None:
        up_to = frame.get("up_to")
        if isinstance(up_to, bool) or not isinstance(up_to, int) or up_to < 0:
            await self._error("bad_frame", "up_to must be a non-negative integer")
            return
        assert self._connection.conversation_id is not None
        await asyncio.to_thread(
            _mark_delivered,
            self._session_factory,
            conversation_id=self._connection.conversation_id,
            up_to=up_to,
        )


def _client_id_in(raw: str) -> str | None:
    """The client_id of an oversized frame, so the page can drop just that message."""
    found = re.search(r'"client_id"\s*:\s*"([A-Za-z0-9_-]{8,64})"', raw)
    return found.group(1) if found else None
