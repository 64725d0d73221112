"""Thin routes of the chat API; storage functions and the relay do the work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.delivery import Delivery
from bot.channels.engine import EngineUnavailable
from bot.channels.relay import ConversationClosed, Relay, invalid_text_reason
from bot.channels.webchat_hub import WebChatHub
from bot.handoff.console_hub import ConsoleHub
from bot.handoff.incidents import ActiveIncidents
from bot.knowledge.retriever import SearchHit, get_retriever
from bot.security.client_limits import ClientLimits, too_many_conversations, too_many_messages
from bot.security.clients import client_key
from bot.security.login_throttle import LoginThrottle
from bot.security.rate_limit import SlidingWindowLimiter
from bot.settings import Settings
from bot.storage.conversations import (
    create_conversation,
    get_conversation,
    list_messages,
    mark_delivered,
    token_matches,
)
from bot.storage.tables import Conversation
from bot.web.schemas import (
    ButtonOut,
    ConversationCreated,
    CustomerMessage,
    ErrorDetail,
    Health,
    Replies,
    ReplyOut,
    Transcript,
    TranscriptMessage,
)

logger = logging.getLogger(__name__)

NO_BEARER_DETAIL = "missing or malformed Authorization header; send 'Authorization: Bearer <token>'"
FORBIDDEN_DETAIL = "this token does not give access to this conversation"
NOT_FOUND_DETAIL = "conversation not found"
CLOSED_DETAIL = (
    "this conversation has ended (idle for too long); start a new one with POST /api/conversations"
)


@dataclass
class GatewayServices:
    """What the routes need, built once per app in its lifespan."""

    settings: Settings
    session_factory: sessionmaker[Session]
    relay: Relay
    webchat: WebChatHub
    webchat_secret: str
    console: ConsoleHub = field(default_factory=ConsoleHub)
    # How each channel sends a stored message; Telegram joins when it is configured.
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    # Turns that outlive the request or socket that started them.
    background: set[asyncio.Task[None]] = field(default_factory=set)
    # Per-client limits on new conversations and messages, shared by every channel.
    limits: ClientLimits = field(init=False)
    # Failed console sign-ins, and how many password hashes run at once.
    login_throttle: LoginThrottle = field(init=False)

    @property
    def idle_after(self) -> timedelta:
        return timedelta(minutes=self.settings.conversation_idle_minutes)

    @property
    def active_incidents(self) -> ActiveIncidents:
        return self._incidents

    def __post_init__(self) -> None:
        # The same counter the handoff router uses would do; this one is for the routes.
        self._incidents = ActiveIncidents(self.session_factory)
        self.limits = ClientLimits.from_settings(self.settings)
        self.login_throttle = LoginThrottle.from_settings(self.settings)

    async def resume_engine(self, conversation_id: str, outcome: str) -> None:
        """Tells the engine now if it can; otherwise the relay does before the next message."""
        try:
            await self.relay.engine.resume(conversation_id=conversation_id, outcome=outcome)
        except EngineUnavailable:
            return
        with self.session_factory.begin() as session:
            conversation = get_conversation(session, conversation_id=conversation_id)
            if conversation is not None:
                conversation.engine_paused = False

    async def search_articles(self, query: str) -> list[SearchHit]:
        index_dir = self.settings.knowledge_index_dir
        return await asyncio.to_thread(lambda: get_retriever(index_dir).search(query, top_k=3))


async def get_services(request: Request) -> GatewayServices:
    """Async, so FastAPI does not send it to a worker thread: it only reads the app."""
    services: GatewayServices = request.app.state.services
    return services


ServicesDep = Annotated[GatewayServices, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

bearer_scheme = HTTPBearer(
    auto_error=False, description="The token returned by POST /api/conversations"
)


def authorized_conversation(
    conversation_id: str,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    services: ServicesDep,
) -> Conversation:
    """Uses its own short session, so a message route waiting on the engine holds no connection.

    An unknown id is 404 whatever the token: ids are random, so this reveals nothing.
    """
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, NO_BEARER_DETAIL, headers={"WWW-Authenticate": "Bearer"}
        )
    with services.session_factory() as session:
        conversation = get_conversation(session, conversation_id=conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_DETAIL)
    if not token_matches(conversation, token=credentials.credentials):
        raise HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN_DETAIL)
    return conversation


def _mark_returned(session_factory: sessionmaker[Session], *, message_ids: list[int]) -> None:
    with session_factory.begin() as session:
        mark_delivered(session, message_ids=message_ids)


AuthorizedConversation = Annotated[Conversation, Depends(authorized_conversation)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorDetail} for code in (401, 403, 404, 409, 422, 429)
}


def within_limit(limiter: SlidingWindowLimiter, key: str, describe: Callable[[str], str]) -> None:
    """Counts one event for the client, or refuses it with 429 and the honest wait."""
    verdict = limiter.hit(key)
    if not verdict.allowed:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            describe(verdict.retry_after_header),
            headers={"Retry-After": verdict.retry_after_header},
        )


health_router = APIRouter()
router = APIRouter(prefix="/api/conversations", tags=["conversations"])


@health_router.get("/healthz")
def healthz(session: SessionDep, response: Response) -> Health:
    try:
        session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as error:
        logger.warning("health check: database unavailable (%s)", type(error).__name__)
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="database unavailable")
    return Health(status="ok")


@router.post("", status_code=status.HTTP_201_CREATED, responses={429: {"model": ErrorDetail}})
def start_conversation(
    request: Request, session: SessionDep, services: ServicesDep
) -> ConversationCreated:
    client = client_key(request)
    within_limit(services.limits.conversations, client, too_many_conversations)
    conversation, token = create_conversation(session, channel="api", client_key=client)
    session.commit()
    return ConversationCreated(id=conversation.id, token=token)


@router.post("/{conversation_id}/messages", responses=_ERRORS)
async def send_message(
    request: Request,
    body: CustomerMessage,
    conversation: AuthorizedConversation,
    services: ServicesDep,
) -> Replies:
    """Answers with the bot's replies, or an apology if the engine is down (still 200).

    A conversation idle for longer than the configured time is closed: 409, start anew.
    Too many messages from one client: 429 with Retry-After, and nothing is stored.
    """
    reason = invalid_text_reason(body.text, max_chars=services.settings.max_message_chars)
    if reason is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, reason)
    within_limit(services.limits.messages, client_key(request), too_many_messages)
    try:
        produced = await services.relay.accept_and_answer(
            conversation_id=conversation.id,
            channel="api",
            text=body.text,
            idle_after=services.idle_after,
        )
    except ConversationClosed:
        raise HTTPException(status.HTTP_409_CONFLICT, CLOSED_DETAIL) from None
    await asyncio.to_thread(
        _mark_returned, services.session_factory, message_ids=[m.id for m in produced]
    )
    return Replies(
        messages=[
            ReplyOut(text=reply.text, buttons=[ButtonOut(**button) for button in reply.buttons])
            for reply in produced
        ]
    )


@router.get("/{conversation_id}/messages", responses=_ERRORS)
def read_transcript(conversation: AuthorizedConversation, session: SessionDep) -> Transcript:
    messages = list_messages(session, conversation_id=conversation.id)
    return Transcript(
        messages=[
            TranscriptMessage.model_validate(
                {
                    "id": message.id,
                    "direction": message.direction,
                    "sender": message.sender,
                    "text": message.text,
                    "buttons": message.buttons or [],
                    "created_at": message.created_at,
                    "delivery_state": message.delivery_state,
                }
            )
            for message in messages
        ]
    )
