"""The staff's own console routes: the Ops chat and a linked Telegram chat; thin routes.

Only members who may run incidents (ops, managers) reach them, by the role read from
the database on each request. Every route acts on the signed-in member's own chat and
link: none takes another member's id, and the one id a body carries (a button's
message) is looked up in the member's own Ops chat only.

The Ops chat goes through the same relay as customers' messages (stored first, then
answered); the relay tells the engine the member's role (bot/storage/staff_links.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import ValidationError

from bot.channels.relay import ConversationLocks, invalid_text_reason
from bot.channels.relay_store import StoredMessage
from bot.channels.telegram import TelegramChannel
from bot.domain.staff import Permission, may
from bot.security.client_limits import too_many_messages
from bot.security.clients import client_key
from bot.security.staff_limits import StaffLimits, too_many_link_changes, too_many_reads
from bot.storage.conversations import list_messages, mark_delivered_up_to
from bot.storage.staff_chats import current_ops_conversation, offered_button, open_ops_conversation
from bot.storage.staff_links import (
    CONSOLE_CHANNEL,
    chat_link,
    close_chat_conversation,
    issue_link_code,
    unlink_member,
)
from bot.storage.tables import Agent, Message
from bot.web import console_views as views
from bot.web.api import GatewayServices, ServicesDep, within_limit
from bot.web.console import AgentDep
from bot.web.console_schemas import MessageOut, TextBody
from bot.web.ops_chat_schemas import ButtonPress, LinkCode, OpsChat, TelegramLink

logger = logging.getLogger(__name__)

NOT_FOR_YOUR_ROLE = "the Ops chat and Telegram linking are for ops and managers"
BUTTON_SHAPE = 'body must be JSON like {"message_id": 12, "index": 0}'
BUTTON_GONE = "that button is not in your Ops chat any more; please type your question"
TELEGRAM_OFF = "Telegram is not connected to this shop (TELEGRAM_TOKEN is not set)"

ops_router = APIRouter(prefix="/api/console", tags=["console"])
# A member's first messages from two tabs at once must open one Ops chat, not two.
_openings = ConversationLocks()


def ops_member(agent: AgentDep) -> Agent:
    if not may(agent.role, Permission.INCIDENTS):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_FOR_YOUR_ROLE)
    return agent


def _limits(request: Request) -> StaffLimits:
    limits: StaffLimits = request.app.state.staff_limits
    return limits


def _reading(member: Annotated[Agent, Depends(ops_member)], request: Request) -> Agent:
    within_limit(_limits(request).reads, f"staff:{member.id}", too_many_reads)
    return member


def _messaging(member: Annotated[Agent, Depends(ops_member)], services: ServicesDep) -> Agent:
    """The same budget a customer has for messages (SHOPDESK_CLIENT_MESSAGES_*)."""
    within_limit(services.limits.messages, f"staff:{member.id}", too_many_messages)
    return member


def _changing_link(member: Annotated[Agent, Depends(ops_member)], request: Request) -> Agent:
    within_limit(_limits(request).link_changes, f"staff:{member.id}", too_many_link_changes)
    return member


Reader = Annotated[Agent, Depends(_reading)]
Messenger = Annotated[Agent, Depends(_messaging)]
LinkChanger = Annotated[Agent, Depends(_changing_link)]
_ERRORS: dict[int | str, dict[str, Any]] = {code: {} for code in (401, 403, 422, 429)}


def _out(message: Message) -> MessageOut:
    return MessageOut.model_validate(views.message_out(StoredMessage.from_row(message)))


def _shown(services: GatewayServices, conversation_id: str, after_id: int) -> list[MessageOut]:
    """The chat's messages after `after_id`; the bot's are delivered once the page has them."""
    with services.session_factory.begin() as session:
        messages = list_messages(session, conversation_id=conversation_id, after_id=after_id)
        if messages:
            last = max(message.id for message in messages)
            mark_delivered_up_to(session, conversation_id=conversation_id, up_to=last)
        return [_out(message) for message in messages]


def _history(services: GatewayServices, member_id: int) -> OpsChat:
    with services.session_factory() as session:
        current = current_ops_conversation(
            session, agent_id=member_id, idle_after=services.idle_after
        )
    if current is None:
        return OpsChat(conversation_id=None, messages=[])
    return OpsChat(conversation_id=current.id, messages=_shown(services, current.id, 0))


def _open(services: GatewayServices, member_id: int, client: str) -> tuple[str, int]:
    """The member's Ops chat (a new one if needed) and its last message id so far."""
    with services.session_factory.begin() as session:
        conversation = open_ops_conversation(
            session, agent_id=member_id, idle_after=services.idle_after, client_key=client
        )
        messages = list_messages(session, conversation_id=conversation.id)
        return conversation.id, max((message.id for message in messages), default=0)


async def _say(services: GatewayServices, member: Agent, request: Request, text: str) -> OpsChat:
    """Stored, then answered by the engine, like a customer's message."""
    async with _openings.for_conversation(f"staff:{member.id}"):
        conversation_id, last_id = await asyncio.to_thread(
            _open, services, member.id, client_key(request)
        )
    await services.relay.accept_and_answer(
        conversation_id=conversation_id, channel=CONSOLE_CHANNEL, text=text
    )
    messages = await asyncio.to_thread(_shown, services, conversation_id, last_id)
    return OpsChat(conversation_id=conversation_id, messages=messages)


@ops_router.get("/ops-chat", responses=_ERRORS)
async def read_ops_chat(member: Reader, services: ServicesDep) -> OpsChat:
    return await asyncio.to_thread(_history, services, member.id)


@ops_router.post("/ops-chat/messages", responses=_ERRORS)
async def send_ops_message(
    body: TextBody, member: Messenger, request: Request, services: ServicesDep
) -> OpsChat:
    """Typed text is text: one starting with "/" reaches the engine as words, not an intent."""
    reason = invalid_text_reason(body.text, max_chars=services.settings.max_message_chars)
    if reason is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, reason)
    return await _say(services, member, request, body.text)


async def button_press(request: Request) -> ButtonPress:
    """Read by hand for a sentence about this body: the app's own is about {"text"}."""
    try:
        return ButtonPress.model_validate_json(await request.body())
    except ValidationError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, BUTTON_SHAPE) from None


def _payload(services: GatewayServices, member_id: int, press: ButtonPress) -> str | None:
    with services.session_factory() as session:
        current = current_ops_conversation(
            session, agent_id=member_id, idle_after=services.idle_after
        )
        if current is None:
            return None
        button = offered_button(
            session, conversation_id=current.id, message_id=press.message_id, index=press.index
        )
        return button["payload"] if button is not None and button["payload"].strip() else None


@ops_router.post(
    "/ops-chat/buttons",
    responses=_ERRORS | {404: {"description": BUTTON_GONE}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ButtonPress.model_json_schema()}},
        }
    },
)
async def press_ops_button(
    member: Messenger,
    press: Annotated[ButtonPress, Depends(button_press)],
    request: Request,
    services: ServicesDep,
) -> OpsChat:
    """The payload of a button the bot showed in the member's own chat is sent as the
    member's message; the engine takes it as the bot meant it (an "/intent" too)."""
    payload = await asyncio.to_thread(_payload, services, member.id, press)
    if payload is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, BUTTON_GONE)
    return await _say(services, member, request, payload)


def _telegram(request: Request) -> TelegramChannel | None:
    channel = getattr(request.app.state, "telegram", None)
    return channel if isinstance(channel, TelegramChannel) else None


@ops_router.get("/telegram-link", responses=_ERRORS)
def read_telegram_link(member: Reader, request: Request, services: ServicesDep) -> TelegramLink:
    telegram = _telegram(request)
    with services.session_factory() as session:
        link = chat_link(session, agent_id=member.id)
    return TelegramLink(
        telegram=telegram is not None,
        bot_username=telegram.username if telegram is not None else None,
        linked=link is not None,
        linked_at=link.linked_at if link is not None else None,
    )


@ops_router.post(
    "/telegram-link/code",
    status_code=status.HTTP_201_CREATED,
    responses=_ERRORS | {409: {"description": TELEGRAM_OFF}},
)
def make_link_code(
    member: LinkChanger, request: Request, response: Response, services: ServicesDep
) -> LinkCode:
    """A new code replaces the member's unused ones; it is shown here once and never
    stored readable, so the answer must not be kept by any cache either."""
    telegram = _telegram(request)
    if telegram is None:
        raise HTTPException(status.HTTP_409_CONFLICT, TELEGRAM_OFF)
    with services.session_factory.begin() as session:
        issued = issue_link_code(session, agent_id=member.id)
    logger.info("staff member %d made a Telegram link code", member.id)
    response.headers["Cache-Control"] = "no-store"
    bot = telegram.username
    return LinkCode(
        code=issued.code,
        expires_at=issued.expires_at,
        bot_username=bot,
        instruction=(
            f"Send /link {issued.code} to {f'@{bot}' if bot else 'the shop’s Telegram bot'} "
            "within 10 minutes."
        ),
    )


@ops_router.delete("/telegram-link", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
def unlink_telegram(member: LinkChanger, services: ServicesDep) -> None:
    """At once: the chat's next message reaches the engine as a customer's."""
    with services.session_factory.begin() as session:
        link = unlink_member(session, agent_id=member.id)
        if link is not None:
            close_chat_conversation(session, channel=link.channel, external_id=link.external_id)
    if link is not None:
        logger.info("staff member %d unlinked their Telegram chat", member.id)
