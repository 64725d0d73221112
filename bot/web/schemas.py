"""Request and response bodies of the chat API, which is also its OpenAPI documentation."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from bot.storage.tables import DeliveryState, Direction, Sender


class ConversationCreated(BaseModel):
    id: str
    token: str = Field(description="Bearer token for this conversation; shown only once.")


class CustomerMessage(BaseModel):
    # Unknown fields are refused rather than ignored, so a client's typo is not lost silently.
    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(examples=["Where is my order?"])


class ButtonOut(BaseModel):
    title: str
    payload: str


class ReplyOut(BaseModel):
    text: str | None
    buttons: list[ButtonOut]


class Replies(BaseModel):
    messages: list[ReplyOut]


class TranscriptMessage(BaseModel):
    id: int
    direction: Direction
    sender: Sender
    text: str | None
    buttons: list[ButtonOut]
    created_at: datetime
    delivery_state: DeliveryState


class Transcript(BaseModel):
    messages: list[TranscriptMessage]


class Health(BaseModel):
    status: str


class ErrorDetail(BaseModel):
    detail: str
