"""The ops skills from tracker fixtures: who may use them, and declare, update, notify."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from actions import ops_access, services
from actions.handoff import ActionHandOff
from actions.ops_changes import (
    ActionApplyOpsChange,
    ActionPreviewOpsChange,
    ActionStartDeclaration,
    ActionStartUpdate,
    ValidateIncidentForm,
)
from actions.ops_incidents import ActionIncidentStatus, ActionListIncidents, ActionQueueStatus
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.handoff import HandoffPolicy
from bot.domain.incident_changes import IncidentDraft
from bot.domain.incidents import IncidentKind, IncidentStatus
from bot.ops.desk import OpsDesk
from bot.storage import incidents as registry
from bot.storage.ops_tables import IncidentRecord, Notice, NoticeBatch
from bot.storage.tables import Agent, ChannelAccount, Handoff
from tests.actions.conftest import CUSTOMER, InMemoryShop, lookup_over, responses, slot_values

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=SHOP_TIMEZONE)
OPS = {"role": "ops", "staff_id": 3, "staff_name": "Mei Lin", "channel": "webchat"}


@pytest.fixture
def sessions(proof_guard: object) -> sessionmaker[Session]:
    """The throwaway Shopdesk database the autouse fixture gave the action server, with
    the ops member the metadata names."""
    factory = services.shopdesk_sessions()
    with factory.begin() as session:
        session.add(
            Agent(id=3, username="mei", display_name="Mei Lin", password_hash="-", role="ops")
        )
    return factory


@pytest.fixture
def desk(sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> OpsDesk:
    monkeypatch.setattr(services, "now", lambda: NOW)
    ops = OpsDesk(sessions=sessions, orders=lookup_over(InMemoryShop()), policy=HandoffPolicy())
    monkeypatch.setattr(ops_access, "ops_desk", lambda: ops)
    return ops


def _declare(sessions: sessionmaker[Session], **changes: Any) -> int:
    facts: dict[str, Any] = {
        "kind": IncidentKind.CARRIER_OUTAGE,
        "title": "SF Express: sorting-centre failure",
        "severity": 2,
        "regions": (),
        "carriers": ("SF Express",),
        "customer_note": "SF Express parcels are held at its hubs.",
        "started_at": NOW - timedelta(hours=2),
        "expected_recovery": NOW + timedelta(days=1),
        **changes,
    }
    with sessions.begin() as session:
        return registry.declare_incident(
            session, draft=IncidentDraft(**facts), author=registry.Author("seed")
        ).id


def _tracker(
    text: str,
    *,
    intent: str = "inform",
    metadata: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
    confidence: float = 0.99,
) -> Tracker:
    return Tracker(
        sender_id="ops-conversation",
        slots={"ops_pending": None, "ops_awaiting_confirmation": False, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "metadata": OPS if metadata is None else metadata,
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize(
    "metadata",
    [
        {"role": "customer", "channel": "telegram", "linked_customer_id": 7},
        {"role": "agent", "staff_id": 4, "staff_name": "Ana"},  # an agent runs no incidents
        {"role": "ops"},  # a role without the member it belongs to is no one's
        {"role": "manager", "staff_id": True},
    ],
)
async def test_anyone_but_ops_staff_gets_the_staff_only_reply_and_nothing_changes(
    desk: OpsDesk, sessions: sessionmaker[Session], metadata: dict[str, Any]
) -> None:
    _declare(sessions)
    actions = [
        ActionListIncidents(),
        ActionIncidentStatus(),
        ActionQueueStatus(),
        ActionStartDeclaration(),
        ActionStartUpdate(),
        ActionApplyOpsChange(),
    ]
    pending = {"kind": "update", "incident_id": 1, "status": "resolved", "summary": "Resolved"}
    for action in actions:
        dispatcher = CollectingDispatcher()
        tracker = _tracker(
            "yes", intent="affirm", metadata=metadata, slots={"ops_pending": pending}
        )
        assert await action.run(dispatcher, tracker, {}) == []
        assert responses(dispatcher) == ["utter_staff_only"], action.name()
    with sessions() as session:
        assert registry.get_incident(session, incident_id=1).status is IncidentStatus.IDENTIFIED  # type: ignore[union-attr]


async def test_the_list_names_each_active_incident_with_its_figures(
    desk: OpsDesk, sessions: sessionmaker[Session]
) -> None:
    _declare(sessions)
    _declare(
        sessions,
        title="Old typhoon",
        started_at=NOW - timedelta(days=9),
        resolved_at=NOW - timedelta(days=8),
    )
    dispatcher = CollectingDispatcher()
    await ActionListIncidents().run(dispatcher, _tracker("what's going on?"), {})
    [text] = responses(dispatcher)
    assert text.startswith("1 active incident:")
    assert "#1 SF Express: sorting-centre failure" in text
    assert "carrier outage, severity 2, identified; scope: SF Express" in text
    assert "open 2 h, expected back Sat 21 Nov 15:00" in text
    assert "1 open orders affected" in text  # the memory shop's one SF Express order
    assert "Old typhoon" not in text
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "#1 SF Express: sorting-centre failure", "payload": "status of incident 1"}
    ]


async def test_an_ambiguous_reference_gets_buttons_never_a_guess(
    desk: OpsDesk, sessions: sessionmaker[Session]
) -> None:
    _declare(sessions)
    _declare(sessions, title="ZTO Express: system failure", carriers=("ZTO Express",))
    dispatcher = CollectingDispatcher()
    await ActionIncidentStatus().run(dispatcher, _tracker("status of the outage"), {})
    assert responses(dispatcher) == ["Which incident do you mean?"]
    assert sorted(b["payload"] for b in dispatcher.messages[0]["buttons"]) == [
        "status of incident 1",
        "status of incident 2",
    ]
    dispatcher = CollectingDispatcher()
    await ActionIncidentStatus().run(dispatcher, _tracker("status of incident 2"), {})
    [text] = responses(dispatcher)
    assert text.startswith("Incident #2: ZTO Express: system failure")
    assert "Latest timeline:" in text and "seed: Declared: carrier outage" in text


async def test_a_declaration_asks_for_what_is_missing_previews_and_writes_on_yes(
    desk: OpsDesk, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        session.add(ChannelAccount(channel="telegram", external_id="555", customer_id=CUSTOMER.id))
    dispatcher = CollectingDispatcher()
    events = await ActionStartDeclaration().run(
        dispatcher, _tracker("SF Express is down in Shanghai since 9am, back tomorrow"), {}
    )
    plan = slot_values(events)["ops_pending"]
    assert plan["carriers"] == ["SF Express"] and plan["regions"] == ["Shanghai"]
    assert plan["severity"] is None and plan["customer_note"] is None
    assert (events[-1]["event"], events[-1]["name"]) == ("followup", "incident_form")

    answer = await ValidateIncidentForm().validate_incident_answer(
        "2", CollectingDispatcher(), _tracker("2", slots={"ops_pending": plan}), {}
    )
    assert answer["incident_answer"] is None  # the note is still missing: asked next
    plan = answer["ops_pending"]
    answer = await ValidateIncidentForm().validate_incident_answer(
        "use the suggested note",
        CollectingDispatcher(),
        _tracker("x", slots={"ops_pending": plan}),
        {},
    )
    assert answer["incident_answer"] == "done"
    plan = answer["ops_pending"]

    dispatcher = CollectingDispatcher()
    events = await ActionPreviewOpsChange().run(
        dispatcher, _tracker("", slots={"ops_pending": plan}), {}
    )
    [preview] = responses(dispatcher)
    assert preview.startswith("Declare this incident?\nSF Express outage in Shanghai")
    assert "1 open orders of 1 customers are in scope." in preview
    assert slot_values(events)["ops_awaiting_confirmation"] is True
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(IncidentRecord)) == 0

    dispatcher = CollectingDispatcher()
    events = await ActionApplyOpsChange().run(
        dispatcher, _tracker("yes", intent="affirm", slots={"ops_pending": plan}), {}
    )
    declared, offer = responses(dispatcher)
    assert declared.startswith("Declared incident #1: SF Express outage in Shanghai.")
    assert offer.startswith("Notify affected customers? 1 customers can be reached")
    notify = slot_values(events)["ops_pending"]
    assert notify == {"kind": "notify", "incident_id": 1, "occasion": "declared"}
    with sessions() as session:
        entries = registry.timeline(session, incident_id=1)
    assert [(e.author, e.summary) for e in entries] == [
        ("Mei Lin", "Declared: carrier outage, severity 2, identified")
    ]

    dispatcher = CollectingDispatcher()
    await ActionApplyOpsChange().run(
        dispatcher, _tracker("yes", intent="affirm", slots={"ops_pending": notify}), {}
    )
    assert responses(dispatcher)[0].startswith("Sending 1 notices about incident #1.")
    with sessions() as session:
        [notice] = session.scalars(sa.select(Notice)).all()
        batch = session.scalars(sa.select(NoticeBatch)).one()
    assert (batch.planned, batch.author, notice.state, notice.order_numbers) == (
        1,
        "Mei Lin",
        "queued",
        ["100245"],
    )
    assert notice.text.startswith("A heads-up about your order 100245: SF Express outage")


async def test_a_shrug_is_no_go_ahead(desk: OpsDesk, sessions: sessionmaker[Session]) -> None:
    _declare(sessions)
    pending = {"kind": "update", "incident_id": 1, "status": "resolved", "summary": "Resolved"}
    dispatcher = CollectingDispatcher()
    events = await ActionApplyOpsChange().run(
        dispatcher,
        _tracker("well maybe", intent="affirm", confidence=0.7, slots={"ops_pending": pending}),
        {},
    )
    assert events == [] and "Please answer yes or no" in responses(dispatcher)[0]
    with sessions() as session:
        assert registry.get_incident(session, incident_id=1).resolved_at is None  # type: ignore[union-attr]


async def test_resolving_by_words_finds_the_incident_and_resolves_it_on_yes(
    desk: OpsDesk, sessions: sessionmaker[Session]
) -> None:
    _declare(sessions)
    dispatcher = CollectingDispatcher()
    events = await ActionStartUpdate().run(
        dispatcher, _tracker("the SF Express outage is over", intent="resolve_incident"), {}
    )
    plan = slot_values(events)["ops_pending"]
    assert (plan["incident_id"], plan["status"]) == (1, "resolved")
    dispatcher = CollectingDispatcher()
    events = await ActionPreviewOpsChange().run(
        dispatcher, _tracker("", slots={"ops_pending": plan}), {}
    )
    assert responses(dispatcher) == [
        "Change incident #1 (SF Express: sorting-centre failure)?\nResolved."
    ]
    plan = slot_values(events)["ops_pending"]
    dispatcher = CollectingDispatcher()
    await ActionApplyOpsChange().run(
        dispatcher, _tracker("yes", intent="affirm", slots={"ops_pending": plan}), {}
    )
    assert responses(dispatcher)[0] == (
        "Incident #1 is resolved. Customers no longer hear its note."
    )
    with sessions() as session:
        incident = registry.get_incident(session, incident_id=1)
    assert incident is not None and incident.status is IncidentStatus.RESOLVED


async def test_staff_are_never_put_in_the_customers_queue(
    desk: OpsDesk, sessions: sessionmaker[Session]
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = _tracker("I want to talk to a person", intent="human_agent")
    events = await ActionHandOff().run(dispatcher, tracker, {})
    assert responses(dispatcher)[0].startswith("The queue is for customers")
    assert not [e for e in events if e.get("event") == "pause"]
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Handoff)) == 0
