"""Customers turning incident notices off and on, by what the gateway says they are."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.notices import ActionResumeNotices, ActionStopNotices
from bot.storage.notices import is_opted_out
from tests.actions.conftest import responses


def _tracker(metadata: dict[str, Any]) -> Tracker:
    return Tracker(
        sender_id="c1",
        slots={},
        latest_message={"text": "Stop these messages", "intent": {"name": "stop_notices"},
                        "metadata": metadata},
        events=[], paused=False, followup_action=None, active_loop={},
        latest_action_name="action_listen",
    )  # fmt: skip


def _opted_out(customer_id: int) -> bool:
    with services.shopdesk_sessions()() as session:
        return is_opted_out(session, customer_id=customer_id)


async def test_the_linked_customer_stops_and_resumes_notices(proof_guard: object) -> None:
    dispatcher = CollectingDispatcher()
    await ActionStopNotices().run(dispatcher, _tracker({"notice_customer_id": 7}), {})
    assert responses(dispatcher)[0].startswith("Done: you won't get any more incident notices.")
    assert _opted_out(7)
    dispatcher = CollectingDispatcher()
    await ActionResumeNotices().run(dispatcher, _tracker({"linked_customer_id": 7}), {})
    assert responses(dispatcher)[0].startswith("Done: notices are back on.")
    assert not _opted_out(7)


async def test_a_chat_with_no_customer_changes_nobody(proof_guard: object) -> None:
    dispatcher = CollectingDispatcher()
    await ActionStopNotices().run(dispatcher, _tracker({"notice_customer_id": "7"}), {})
    assert responses(dispatcher)[0].startswith("You aren't getting incident notices")
    assert not _opted_out(7)
