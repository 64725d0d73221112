"""The agent console's JSON API and WebSocket (docs/console-api.md); thin routes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, HTTPException, Request, Response, WebSocket, status
from fastapi.responses import FileResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bot.channels.relay_store import StoredMessage
from bot.handoff.agents import (
    active_chats,
    agent_for_token,
    authenticate,
    end_session,
    live_session,
    set_status,
    start_session,
)
from bot.handoff.queue import HandoffConflict, close, get_handoff, hand_back, take
from bot.handoff.texts import BACK_WITH_BOT_AFTER_AGENT, RATING_BUTTONS, RATING_QUESTION
from bot.security.clients import client_key
from bot.security.login_throttle import LoginRefused
from bot.security.origins import origin_allowed
from bot.settings import Settings
from bot.storage.conversations import add_message, hash_token
from bot.storage.tables import Agent, AgentNote, CallbackRequest, Handoff, utc_now
from bot.web import console_views as views
from bot.web.api import GatewayServices, ServicesDep
from bot.web.console_schemas import (
    AgentOut,
    ArticleOut,
    CallbackOut,
    CloseBody,
    HandBack,
    HandoffDetail,
    KnowledgeQuery,
    Login,
    MessageOut,
    NoteOut,
    Queue,
    StatusChange,
    TextBody,
)
from bot.web.pages import STATIC_DIR

COOKIE = "shopdesk_agent"
LOGIN_FAILED = "wrong username or password"
NO_SESSION = "log in first (your session is missing or has expired)"
SESSION_ENDED = "your session has ended; log in again"
FOREIGN_ORIGIN = "this page may not open the console"
KNOWLEDGE_QUERY = 'body must be JSON like {"q": "..."}, with 1 to 500 characters in q'
# WebSocket close codes: like HTTP's 401 and 403.
CLOSE_NO_SESSION = 4401
CLOSE_FOREIGN_ORIGIN = 4403
# How often an open console's session is read again, for sign-outs on other gateways.
SESSION_RECHECK_SECONDS = 60.0

console_page_router = APIRouter(include_in_schema=False)
console_router = APIRouter(prefix="/api/console", tags=["console"])


@console_page_router.get("/console")
def console_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "console.html", headers={"Cache-Control": "no-cache"})


def _agent_for(services: GatewayServices, token: str | None) -> Agent | None:
    if not token:
        return None
    with services.session_factory() as session:
        agent = agent_for_token(session, token=token)
        if agent is not None:
            session.expunge(agent)
        return agent


def current_agent(
    services: ServicesDep, shopdesk_agent: Annotated[str | None, Cookie()] = None
) -> Agent:
    agent = _agent_for(services, shopdesk_agent)
    if agent is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, NO_SESSION)
    return agent


AgentDep = Annotated[Agent, Depends(current_agent)]


def _agent_out(services: GatewayServices, agent: Agent) -> AgentOut:
    with services.session_factory() as session:
        chats = active_chats(session, agent_id=agent.id)
    return AgentOut(
        id=agent.id,
        username=agent.username,
        display_name=agent.display_name,
        status=agent.status,
        capacity=agent.capacity,
        active_chats=chats,
        role=agent.role,
    )


def _secure_cookie(settings: Settings, request: Request) -> bool:
    if settings.cookie_secure == "auto":
        return request.url.scheme == "https"
    return settings.cookie_secure == "always"


def _sign_in(services: GatewayServices, body: Login) -> tuple[Agent, str] | None:
    with services.session_factory.begin() as session:
        agent = authenticate(session, username=body.username, password=body.password)
        if agent is None:
            return None
        lifetime = timedelta(hours=services.settings.agent_session_hours)
        token = start_session(session, agent_id=agent.id, lifetime=lifetime)
        session.flush()
        session.expunge(agent)
        return agent, token


_LOGIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": LOGIN_FAILED},
    429: {"description": "too many failed sign-ins for this name or from this client"},
    503: {"description": "too many sign-ins being checked at once"},
}


@console_router.post("/login", responses=_LOGIN_ERRORS)
async def login(
    body: Login, request: Request, response: Response, services: ServicesDep
) -> AgentOut:
    """Throttled before the password is hashed (bot/security/login_throttle.py)."""
    try:
        signed_in = await services.login_throttle.attempt(
            username=body.username,
            client=client_key(request),
            check=lambda: _sign_in(services, body),
        )
    except LoginRefused as refusal:
        raise HTTPException(
            refusal.status_code, refusal.detail, headers={"Retry-After": refusal.retry_after_header}
        ) from None
    if signed_in is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, LOGIN_FAILED)
    agent, token = signed_in
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(services.settings.agent_session_hours * 3600),
        httponly=True,
        secure=_secure_cookie(services.settings, request),
        samesite="strict",
        path="/",
    )
    return await asyncio.to_thread(_agent_out, services, agent)


@console_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    agent: AgentDep,
    request: Request,
    response: Response,
    services: ServicesDep,
    shopdesk_agent: Annotated[str | None, Cookie()] = None,
) -> None:
    """Also closes the consoles this session has open, so they hear nothing more."""

    def end() -> str:
        with services.session_factory.begin() as session:
            return end_session(session, token=shopdesk_agent or "")

    ended = await asyncio.to_thread(end)
    await services.console.close_session(ended, code=CLOSE_NO_SESSION, reason=SESSION_ENDED)
    response.delete_cookie(
        COOKIE,
        path="/",
        secure=_secure_cookie(services.settings, request),
        httponly=True,
        samesite="strict",
    )


@console_router.get("/me")
def me(agent: AgentDep, services: ServicesDep) -> AgentOut:
    return _agent_out(services, agent)


@console_router.put("/me/status")
async def change_status(body: StatusChange, agent: AgentDep, services: ServicesDep) -> AgentOut:
    def change() -> AgentOut:
        with services.session_factory.begin() as session:
            changed = set_status(session, agent_id=agent.id, status=body.status)
            session.expunge(changed)
        return _agent_out(services, changed)

    changed = await asyncio.to_thread(change)
    await services.console.notify({"type": "queue"})
    return changed


@console_router.get("/queue")
async def queue(agent: AgentDep, services: ServicesDep) -> Queue:
    return await asyncio.to_thread(views.queue_view, services, agent=agent)


def _detail(services: GatewayServices, handoff_id: int) -> HandoffDetail:
    detail = views.handoff_detail(services, handoff_id=handoff_id)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such handoff")
    return detail


@console_router.post("/handoffs/{handoff_id}/take", responses={404: {}, 409: {}})
async def take_handoff(handoff_id: int, agent: AgentDep, services: ServicesDep) -> HandoffDetail:
    def take_it() -> str:
        with services.session_factory.begin() as session:
            try:
                handoff = take(
                    session,
                    handoff_id=handoff_id,
                    agent=agent,
                    active_chats=active_chats(session, agent_id=agent.id),
                )
            except LookupError:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "no such handoff") from None
            except HandoffConflict as conflict:
                raise HTTPException(status.HTTP_409_CONFLICT, str(conflict)) from None
            return handoff.conversation_id

    conversation_id = await asyncio.to_thread(take_it)
    await _tell_customer(
        services, conversation_id, f"{agent.display_name} from our team has joined the chat."
    )
    await services.console.notify({"type": "queue"})
    return await asyncio.to_thread(_detail, services, handoff_id)


@console_router.get("/handoffs/{handoff_id}", responses={404: {}})
def read_handoff(handoff_id: int, agent: AgentDep, services: ServicesDep) -> HandoffDetail:
    return _detail(services, handoff_id)


def _own_assigned(services: GatewayServices, handoff_id: int, agent: Agent) -> str:
    """The conversation id of a handoff this agent has taken, or the right HTTP error."""
    with services.session_factory() as session:
        handoff = get_handoff(session, handoff_id=handoff_id)
        if handoff is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such handoff")
        if handoff.agent_id != agent.id or handoff.state != "assigned":
            raise HTTPException(status.HTTP_409_CONFLICT, "you do not have this conversation")
        return handoff.conversation_id


def _finish(
    services: GatewayServices,
    handoff_id: int,
    agent: Agent,
    finish: Callable[[Session, Handoff], None],
) -> str:
    """Hand back or close, only by the agent who has the conversation."""
    conversation_id = _own_assigned(services, handoff_id, agent)
    with services.session_factory.begin() as session:
        handoff = get_handoff(session, handoff_id=handoff_id)
        assert handoff is not None
        finish(session, handoff)
    return conversation_id


@console_router.post("/handoffs/{handoff_id}/messages", responses={404: {}, 409: {}})
async def send_agent_message(
    handoff_id: int, body: TextBody, agent: AgentDep, services: ServicesDep
) -> MessageOut:
    conversation_id = await asyncio.to_thread(_own_assigned, services, handoff_id, agent)
    stored = await _store_and_deliver(services, conversation_id, body.text, sender="agent")
    await services.console.notify(  # the agent's other tabs
        {"type": "message", "handoff_id": handoff_id, "message": views.message_out(stored)},
        agent_id=agent.id,
    )
    return MessageOut.model_validate(views.message_out(stored))


@console_router.post("/handoffs/{handoff_id}/notes", responses={404: {}})
def add_note(handoff_id: int, body: TextBody, agent: AgentDep, services: ServicesDep) -> NoteOut:
    with services.session_factory.begin() as session:
        if get_handoff(session, handoff_id=handoff_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such handoff")
        note = AgentNote(handoff_id=handoff_id, agent_id=agent.id, text=body.text)
        session.add(note)
        session.flush()
        return NoteOut(
            id=note.id, agent=agent.display_name, text=note.text, created_at=note.created_at
        )


@console_router.post("/handoffs/{handoff_id}/hand-back", responses={404: {}, 409: {}})
async def hand_back_to_bot(
    handoff_id: int, body: HandBack, agent: AgentDep, services: ServicesDep
) -> HandoffDetail:
    def finish(session: Session, handoff: Handoff) -> None:
        hand_back(session, handoff=handoff)
        if body.note:
            session.add(AgentNote(handoff_id=handoff_id, agent_id=agent.id, text=body.note))

    conversation_id = await asyncio.to_thread(_finish, services, handoff_id, agent, finish)
    await services.resume_engine(conversation_id, f"returned by an agent. {body.note or ''}")
    # The rating question follows the bot's next answer (bot/handoff/customer_side.py).
    await _tell_customer(services, conversation_id, BACK_WITH_BOT_AFTER_AGENT)
    await services.console.notify({"type": "queue"})
    return await asyncio.to_thread(_detail, services, handoff_id)


@console_router.post("/handoffs/{handoff_id}/close", responses={404: {}, 409: {}})
async def close_handoff(
    handoff_id: int, body: CloseBody, agent: AgentDep, services: ServicesDep
) -> HandoffDetail:
    def finish(session: Session, handoff: Handoff) -> None:
        close(session, handoff=handoff, resolution=body.resolution)

    conversation_id = await asyncio.to_thread(_finish, services, handoff_id, agent, finish)
    await _tell_customer(services, conversation_id, RATING_QUESTION, buttons=True)
    await services.console.notify({"type": "queue"})
    return await asyncio.to_thread(_detail, services, handoff_id)


@console_router.get("/callbacks")
def callbacks(agent: AgentDep, services: ServicesDep) -> list[CallbackOut]:
    with services.session_factory() as session:
        rows = session.query(CallbackRequest).order_by(CallbackRequest.id.desc()).limit(100)
        return [
            CallbackOut(
                id=row.id,
                conversation_id=row.conversation_id,
                message=row.message,
                created_at=row.created_at,
                done=row.done_at is not None,
            )
            for row in rows
        ]


@console_router.post("/callbacks/{callback_id}/done", responses={404: {}})
def callback_done(callback_id: int, agent: AgentDep, services: ServicesDep) -> CallbackOut:
    with services.session_factory.begin() as session:
        row = session.get(CallbackRequest, callback_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call-back request")
        row.done_at = row.done_at or utc_now()
        return CallbackOut(
            id=row.id,
            conversation_id=row.conversation_id,
            message=row.message,
            created_at=row.created_at,
            done=True,
        )


async def knowledge_query(request: Request) -> str:
    """Read by hand for a sentence that names q: the app's validation message is about
    the chat API's {"text"}."""
    try:
        body = KnowledgeQuery.model_validate_json(await request.body())
    except ValidationError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, KNOWLEDGE_QUERY) from None
    if not body.q.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, KNOWLEDGE_QUERY)
    return body.q


@console_router.post(
    "/knowledge",
    responses={422: {"description": KNOWLEDGE_QUERY}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": KnowledgeQuery.model_json_schema()}},
        }
    },
)
async def knowledge(
    agent: AgentDep, q: Annotated[str, Depends(knowledge_query)], services: ServicesDep
) -> list[ArticleOut]:
    """A POST, so that what the agent searches for (often the customer's words) stays out
    of URLs and so out of access logs and proxies."""
    hits = await services.search_articles(q)
    return [ArticleOut(id=hit.id, title=hit.title, answer=hit.answer) for hit in hits]


def _live(services: GatewayServices, token_hash: str) -> datetime | None:
    """When the session ends, or None if it has."""
    opened = _opened_by(services, token_hash)
    return None if opened is None else opened[0]


def _opened_by(services: GatewayServices, token_hash: str) -> tuple[datetime, int] | None:
    """The live session's end and its agent, or None."""
    with services.session_factory() as session:
        row = live_session(session, token_hash=token_hash)
        return None if row is None else (row.expires_at, row.agent_id)


@console_page_router.websocket("/ws/console")
async def console_socket(websocket: WebSocket) -> None:
    """Refused before it opens for another site's page (the browser would send the
    agent's cookie along) and without a live session; closed at sign-out and when the
    session expires, so that it never streams customers' messages past either."""
    services: GatewayServices = websocket.app.state.services
    if not origin_allowed(
        websocket.headers.get("origin"),
        host=websocket.headers.get("host"),
        allowed=services.settings.console_allowed_origins,
    ):
        await websocket.close(code=CLOSE_FOREIGN_ORIGIN, reason=FOREIGN_ORIGIN)
        return
    token = websocket.cookies.get(COOKIE)
    token_hash = hash_token(token) if token else None
    opened = await asyncio.to_thread(_opened_by, services, token_hash) if token_hash else None
    if token_hash is None or opened is None:
        await websocket.close(code=CLOSE_NO_SESSION, reason=NO_SESSION)
        return
    expires_at: datetime | None = opened[0]
    await websocket.accept()
    services.console.add(websocket, session=token_hash, expires_at=opened[0], agent_id=opened[1])
    listening = asyncio.create_task(_until_gone(websocket))
    try:
        while expires_at is not None:
            until_expiry = (expires_at - utc_now()).total_seconds()
            wait = max(0.0, min(until_expiry, SESSION_RECHECK_SECONDS))
            done, _ = await asyncio.wait({listening}, timeout=wait)
            if done:
                return
            expires_at = await asyncio.to_thread(_live, services, token_hash)
            if expires_at is not None:
                services.console.extend(websocket, expires_at=expires_at)
        await services.console.close(websocket, code=CLOSE_NO_SESSION, reason=SESSION_ENDED)
    finally:
        listening.cancel()
        services.console.remove(websocket)


async def _until_gone(websocket: WebSocket) -> None:
    """The console only listens; what it sends (pings) is read and dropped."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _tell_customer(
    services: GatewayServices, conversation_id: str, text: str, *, buttons: bool = False
) -> None:
    await _store_and_deliver(services, conversation_id, text, sender="system", buttons=buttons)


async def _store_and_deliver(
    services: GatewayServices,
    conversation_id: str,
    text: str,
    *,
    sender: str,
    buttons: bool = False,
) -> StoredMessage:
    """Stored before it is sent, like every outbound message, then sent on the
    customer's own channel."""

    def store() -> tuple[StoredMessage, str]:
        with services.session_factory.begin() as session:
            channel = views.channel_of(session, conversation_id)
            message = add_message(
                session,
                conversation_id=conversation_id,
                direction="out",
                sender=sender,  # type: ignore[arg-type]
                text=text,
                buttons=list(RATING_BUTTONS) if buttons else None,
                channel=channel,
                delivery_state="queued",
            )
            return StoredMessage.from_row(message), channel

    stored, channel = await asyncio.to_thread(store)
    delivery = services.deliveries.get(channel)
    if delivery is not None:
        await delivery.deliver(conversation_id, [stored])
    return stored
