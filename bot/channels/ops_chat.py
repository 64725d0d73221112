"""The console's Ops chat as a channel: replies made outside a request reach the page.

A live message gets its replies in the answer to its POST. What is answered later (a
message kept while the engine was down, then replayed) is stored like any reply; the
member's consoles are told, and the page reads the chat again, which marks it delivered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.relay_store import StoredMessage
from bot.handoff.console_hub import ConsoleHub
from bot.storage.tables import Conversation

OPS_CHAT_EVENT = "ops_chat"


class OpsChatDelivery:
    def __init__(self, *, session_factory: sessionmaker[Session], console: ConsoleHub) -> None:
        self._session_factory = session_factory
        self._console = console

    async def deliver(self, conversation_id: str, messages: Sequence[StoredMessage]) -> None:
        if not messages:
            return
        staff_id = await asyncio.to_thread(self._member_of, conversation_id)
        if staff_id is not None:  # only that member's consoles: it is their own chat
            await self._console.notify(
                {"type": OPS_CHAT_EVENT, "conversation_id": conversation_id}, agent_id=staff_id
            )

    def _member_of(self, conversation_id: str) -> int | None:
        with self._session_factory() as session:
            conversation = session.get(Conversation, conversation_id)
            return None if conversation is None else conversation.staff_id
