"""The agent console's JSON API and WebSocket (docs/console-api.md); thin routes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, HTTPException, Response, WebSocket, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from bot.channels.relay_store import StoredMessage
from bot.handoff.agents import (
    active_chats,
    agent_for_token,
    authenticate,
    end_session,
    set_status,
    start_session,
)
from bot.handoff.queue import HandoffConflict, close, get_handoff, hand_back, take
from bot.handoff.texts import BACK_WITH_BOT_AFTER_AGENT, RATING_BUTTONS, RATING_QUESTION
from bot.storage.conversations import add_message
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
    )


@console_router.post("/login", responses={401: {"description": LOGIN_FAILED}})
def login(body: Login, response: Response, services: ServicesDep) -> AgentOut:
    with services.session_factory.begin() as session:
        agent = authenticate(session, username=body.username, password=body.password)
        if agent is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, LOGIN_FAILED)
        lifetime = timedelta(hours=services.settings.agent_session_hours)
        token = start_session(session, agent_id=agent.id, lifetime=lifetime)
        session.flush()
        session.expunge(agent)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        path="/",
    )
    return _agent_out(services, agent)


@console_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    agent: AgentDep,
    response: Response,
    services: ServicesDep,
    shopdesk_agent: Annotated[str | None, Cookie()] = None,
) -> None:
    with services.session_factory.begin() as session:
        end_session(session, token=shopdesk_agent or "")
    response.delete_cookie(COOKIE, path="/")


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
    incidents = await services.active_incidents()
    return await asyncio.to_thread(views.queue_view, services, agent=agent, incidents=incidents)


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
    await services.console.notify(
        {"type": "message", "handoff_id": handoff_id, "message": views.message_out(stored)}
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


@console_router.get("/knowledge")
async def knowledge(q: str, agent: AgentDep, services: ServicesDep) -> list[ArticleOut]:
    if not q.strip() or len(q) > 500:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "q needs 1 to 500 characters")
    hits = await services.search_articles(q)
    return [ArticleOut(id=hit.id, title=hit.title, answer=hit.answer) for hit in hits]


@console_page_router.websocket("/ws/console")
async def console_socket(websocket: WebSocket) -> None:
    """The cookie is checked before anything is sent."""
    services: GatewayServices = websocket.app.state.services
    if _agent_for(services, websocket.cookies.get(COOKIE)) is None:
        await websocket.close(code=4401, reason=NO_SESSION)
        return
    await websocket.accept()
    services.console.add(websocket)
    try:
        while True:
            await websocket.receive_text()  # the console only listens; pings keep it open
    except WebSocketDisconnect:
        pass
    finally:
        services.console.remove(websocket)


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
