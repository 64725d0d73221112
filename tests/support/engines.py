"""Dialogue engines for gateway tests that do not need Rasa: scripted, recording, switchable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.channels.engine import (
    REPORT_INTENT,
    BotReply,
    CustomerVerified,
    EngineTurn,
    EngineUnavailable,
)


@dataclass
class EngineCall:
    conversation_id: str
    text: str
    metadata: dict[str, object]


@dataclass
class ScriptedEngine:
    """Answers each text with `answer(text)` (default: an echo), or fails while `down`.

    It records every call, counts concurrent calls per engine, and can report a verified
    customer for texts `verifies` accepts, like the action server does.
    """

    answer: Callable[[str], list[BotReply]] = lambda text: [BotReply(text=f"echo: {text}")]
    delay_seconds: float = 0.0
    down: bool = False
    broken: bool = False
    verifies: Callable[[str], int | None] = lambda text: None
    # The intent the engine says it read, when the gateway asks (`report_intent`).
    reads_intent: Callable[[str], str | None] = lambda text: None
    calls: list[EngineCall] = field(default_factory=list)
    resumed: list[tuple[str, str]] = field(default_factory=list)
    before_answer: Callable[[EngineCall], None] | None = None
    active: int = 0
    most_active: int = 0

    async def send(
        self, *, conversation_id: str, text: str, metadata: dict[str, object]
    ) -> EngineTurn:
        if self.down:
            raise EngineUnavailable("engine unreachable (ConnectError)")
        if self.broken:
            raise RuntimeError("a bug in an engine adapter")
        call = EngineCall(conversation_id, text, dict(metadata))
        self.calls.append(call)
        if self.before_answer is not None:
            self.before_answer(call)
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await asyncio.sleep(self.delay_seconds)
        finally:
            self.active -= 1
        customer_id = self.verifies(text)
        verified = [CustomerVerified(customer_id)] if customer_id is not None else []
        intent = self.reads_intent(text) if metadata.get(REPORT_INTENT) is True else None
        return EngineTurn(replies=self.answer(text), verified_customers=verified, intent=intent)

    async def ready(self) -> bool:
        return not self.down and not self.broken

    async def resume(self, *, conversation_id: str, outcome: str) -> None:
        if self.down:
            raise EngineUnavailable("engine unreachable (ConnectError)")
        self.resumed.append((conversation_id, outcome))
