"""Bodies of the agent console's API (docs/console-api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from bot.web.schemas import ButtonOut


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(_Strict):
    username: StrictStr = Field(max_length=64)
    password: StrictStr = Field(max_length=256)


class StatusChange(_Strict):
    status: Literal["available", "away"]


class TextBody(_Strict):
    text: StrictStr = Field(min_length=1, max_length=4000)


class KnowledgeQuery(_Strict):
    q: StrictStr = Field(min_length=1, max_length=500)


class HandBack(_Strict):
    note: StrictStr | None = Field(default=None, max_length=1000)


class CloseBody(_Strict):
    resolution: Literal[
        "resolved", "refund_issued", "replacement_sent", "escalated", "no_response", "other"
    ]


class AgentOut(BaseModel):
    id: int
    username: str
    display_name: str
    status: str
    capacity: int
    active_chats: int
    # "agent", "ops" or "manager": what else the page may offer (bot/domain/staff.py).
    role: str


class SurgeOut(BaseModel):
    active: bool
    reasons: list[str]


class QueueEntry(BaseModel):
    id: int
    conversation_id: str
    channel: str
    reason: str
    reason_detail: str
    priority: float
    position: int | None
    state: str
    enqueued_at: datetime
    waited_seconds: int
    customer: str
    last_message: str | None


class ActiveIncidentOut(BaseModel):
    """What agents need to answer customers an incident delays, as the bot does."""

    id: int
    title: str
    severity: int
    scope: str
    customer_note: str
    expected_recovery: datetime | None


class Queue(BaseModel):
    waiting: list[QueueEntry]
    mine: list[QueueEntry]
    agents_available: int
    expected_wait_minutes: int | None
    surge: SurgeOut
    incidents: list[ActiveIncidentOut]


class MessageOut(BaseModel):
    id: int
    sender: str
    text: str | None
    buttons: list[ButtonOut]
    created_at: datetime


class NoteOut(BaseModel):
    id: int
    agent: str
    text: str
    created_at: datetime


class HandoffDetail(QueueEntry):
    summary: dict[str, Any]
    transcript: list[MessageOut]
    notes: list[NoteOut]
    agent: str | None


class CallbackOut(BaseModel):
    id: int
    conversation_id: str
    message: str
    created_at: datetime
    done: bool


class ArticleOut(BaseModel):
    id: str
    title: str
    answer: str
