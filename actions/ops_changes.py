"""Declaring, updating and resolving incidents by chat.

The first message is read for every fact it gives ("SF Express is down in Hubei since
9am, back Friday"); `incident_form` then asks, one question at a time, for what is
missing (bot/ops/drafts.py keeps the half-made change in the `ops_pending` slot). A
preview with the audience size follows, and nothing is written before a clear yes:
`ops_awaiting_confirmation` routes that yes or no to the apply or drop action.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.changes import YES_NO_BUTTONS
from actions.ops_access import OpsAction, author_of, ops_desk, ops_member
from actions.ops_incidents import choice_buttons
from actions.signals import StaffMember
from bot.backends.protocols import BackendUnavailable
from bot.domain.consent import is_clear_yes
from bot.domain.incident_changes import (
    IncidentChange,
    change_problems,
    draft_problems,
)
from bot.domain.incident_changes import describe_change as _describe_change
from bot.domain.incidents import Incident, IncidentStatus
from bot.domain.notices import Occasion
from bot.ops import drafts, texts
from bot.ops.desk import Audience
from bot.storage.incidents import IncidentAlreadyResolved, IncidentNotFound

FORM = "incident_form"


def pending(tracker: Tracker) -> dict[str, Any]:
    value = tracker.get_slot("ops_pending")
    return value if isinstance(value, dict) else {}


def _start_form(plan: dict[str, Any]) -> list[EventType]:
    """A message that said everything fills the form at once: it goes straight on to the
    preview, as a form does whose slots are all set."""
    complete = not drafts.missing(plan)
    return [
        SlotSet("ops_pending", plan),
        SlotSet("ops_awaiting_confirmation", False),
        SlotSet("incident_answer", "done" if complete else None),
        FollowupAction(FORM),
    ]


def _latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


class ActionStartDeclaration(OpsAction):
    def name(self) -> str:
        return "action_start_declaration"

    async def act(
        self, member: StaffMember, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        regions, carriers = await self.desk.delivery_network()
        plan = drafts.declaration_from(
            _latest_text(tracker), now=services.now(), regions=regions, carriers=carriers
        )
        return _start_form(plan)


class ActionStartUpdate(OpsAction):
    """For "new estimate for the lockdown: Monday" and "resolve incident 4" alike."""

    def name(self) -> str:
        return "action_start_update"

    async def act(
        self, member: StaffMember, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        now = services.now()
        active = await self.desk.active(now=now)
        if not active:
            dispatcher.utter_message(text="No incident is active, so there is nothing to update.")
            return []
        resolving = tracker.get_intent_of_latest_message() == "resolve_incident"
        regions, carriers = await self.desk.delivery_network()
        plan = drafts.update_from(
            _latest_text(tracker),
            active,
            resolving=resolving,
            now=now,
            regions=regions,
            carriers=carriers,
        )
        return _start_form(plan)


class ActionAskIncidentAnswer(OpsAction):
    """Asks for the first fact the pending change still lacks."""

    def name(self) -> str:
        return "action_ask_incident_answer"

    async def act(
        self, member: StaffMember, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        now = services.now()
        plan = pending(tracker)
        active = await self.desk.active(now=now) if plan.get("kind") == "update" else []
        question = drafts.next_question(plan, active=active, now=now)
        if question.choices:
            buttons = choice_buttons(question.choices, asking="incident")
        else:
            buttons = [{"title": title, "payload": payload} for title, payload in question.buttons]
        dispatcher.utter_message(text=question.text, buttons=buttons)
        return []


class ValidateIncidentForm(FormValidationAction):
    def name(self) -> str:
        return "validate_incident_form"

    async def validate_incident_answer(
        self, value: object, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, object]:
        """Folds the answer into the pending change; asks again until nothing is missing."""
        plan = pending(tracker)
        if ops_member(tracker) is None or not plan:
            return {"incident_answer": "stopped", "ops_pending": None}
        if not drafts.missing(plan):
            return {"incident_answer": "done"}  # everything was in the first message
        if value is None:
            return {"incident_answer": None}  # the form starting: nothing answered yet
        if drafts.is_stop(str(value or "")):
            return {"incident_answer": "stopped", "ops_pending": None}
        now = services.now()
        desk = ops_desk()
        regions, carriers = await desk.delivery_network()
        active = await desk.active(now=now) if plan.get("kind") == "update" else []
        outcome = drafts.fold_answer(
            plan, str(value or ""), now=now, regions=regions, carriers=carriers, active=active
        )
        if outcome.problem:
            dispatcher.utter_message(text=outcome.problem)
        done = not drafts.missing(outcome.plan)
        return {"incident_answer": "done" if done else None, "ops_pending": outcome.plan}


class ActionPreviewOpsChange(OpsAction):
    """Shows what would be written, and to how many customers' orders it applies."""

    def name(self) -> str:
        return "action_preview_ops_change"

    async def act(
        self, member: StaffMember, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        plan = pending(tracker)
        cleared: list[EventType] = [SlotSet("incident_answer", None)]
        if not plan:
            dispatcher.utter_message(text="Stopped. Nothing was changed.")
            return [*cleared, SlotSet("ops_awaiting_confirmation", False)]
        now = services.now()
        if plan["kind"] == "declare":
            draft = drafts.draft_of(plan, now=now)
            problems = draft_problems(draft, now=now)
            if problems:
                dispatcher.utter_message(text=f"I can't declare that: {'; '.join(problems)}.")
                return [*cleared, SlotSet("ops_pending", None)]
            text = texts.draft_preview(draft, await self.desk.audience_if_known(draft))
        else:
            incident = await self.desk.incident(int(plan["incident_id"]))
            change = drafts.change_of(plan)
            problems = change_problems(incident, change, now=now) if incident else ["it's gone"]
            if incident is None or problems:
                dispatcher.utter_message(text=f"I can't make that change: {'; '.join(problems)}.")
                return [*cleared, SlotSet("ops_pending", None)]
            text = texts.change_preview(incident, change)
            cleared.append(SlotSet("ops_pending", {**plan, "summary": describe(incident, change)}))
        dispatcher.utter_message(text=text, buttons=YES_NO_BUTTONS)
        return [*cleared, SlotSet("ops_awaiting_confirmation", True)]


class ActionApplyOpsChange(OpsAction):
    """Writes the previewed change on a clear yes, then offers to tell the customers."""

    def name(self) -> str:
        return "action_apply_ops_change"

    async def act(
        self, member: StaffMember, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        message = tracker.latest_message
        intent = message.get("intent") or {}
        if not is_clear_yes(
            str(message.get("text") or ""),
            intent=intent.get("name"),
            confidence=float(intent.get("confidence") or 0.0),
        ):
            dispatcher.utter_message(
                text="Just to be sure: shall I go ahead? Please answer yes or no.",
                buttons=YES_NO_BUTTONS,
            )
            return []
        plan = pending(tracker)
        kind = plan.get("kind")
        if kind == "declare":
            return await self._declare(plan, member, dispatcher)
        if kind == "update":
            return await self._update(plan, member, dispatcher)
        if kind == "notify":
            return await self._notify(plan, member, dispatcher)
        dispatcher.utter_message(text="There's no change waiting for a yes.")
        return _forget()

    async def _declare(
        self, plan: dict[str, Any], member: StaffMember, dispatcher: CollectingDispatcher
    ) -> list[EventType]:
        draft = drafts.draft_of(plan, now=services.now())
        incident = await self.desk.declare(draft, author=author_of(member))
        audience = await self.desk.audience_if_known(draft)
        dispatcher.utter_message(text=texts.declared(incident, audience))
        return await self._offer_notices(incident, Occasion.DECLARED, audience, dispatcher)

    async def _update(
        self, plan: dict[str, Any], member: StaffMember, dispatcher: CollectingDispatcher
    ) -> list[EventType]:
        change = drafts.change_of(plan)
        try:
            incident = await self.desk.change(
                int(plan["incident_id"]), change, author=author_of(member)
            )
        except (IncidentNotFound, IncidentAlreadyResolved):
            dispatcher.utter_message(text="That incident was resolved meanwhile; nothing changed.")
            return _forget()
        dispatcher.utter_message(text=texts.changed(incident, str(plan.get("summary") or "")))
        occasion = occasion_of(change)
        if occasion is None:
            return _forget()
        audience = await self.desk.audience_if_known(incident)
        return await self._offer_notices(incident, occasion, audience, dispatcher)

    async def _offer_notices(
        self,
        incident: Incident,
        occasion: Occasion,
        audience: Audience | None,
        dispatcher: CollectingDispatcher,
    ) -> list[EventType]:
        try:
            reachable = len(await self.desk.notice_plan(incident, occasion))
        except BackendUnavailable:
            dispatcher.utter_message(
                text="I can't tell who is affected right now (the shop's system didn't "
                "answer), so I can't offer to notify customers yet."
            )
            return _forget()
        if not reachable:
            return _forget()
        dispatcher.utter_message(
            text=texts.notify_offer(incident, reachable, audience),
            buttons=[
                {"title": f"Notify {reachable:,} customers", "payload": "yes"},
                {"title": "Not now", "payload": "no"},
            ],
        )
        offer = {"kind": "notify", "incident_id": incident.id, "occasion": occasion.value}
        return [
            SlotSet("ops_pending", offer),
            SlotSet("ops_awaiting_confirmation", True),
            SlotSet("incident_answer", None),
        ]

    async def _notify(
        self, plan: dict[str, Any], member: StaffMember, dispatcher: CollectingDispatcher
    ) -> list[EventType]:
        incident = await self.desk.incident(int(plan["incident_id"]))
        if incident is None:
            dispatcher.utter_message(text="That incident is gone; no notice was sent.")
            return _forget()
        try:
            count = await self.desk.send_notices(
                incident, Occasion(plan["occasion"]), author=author_of(member)
            )
        except BackendUnavailable:
            dispatcher.utter_message(
                text="The shop's system didn't answer, so no notice was sent. Try again in "
                "a minute."
            )
            return _forget()
        dispatcher.utter_message(text=texts.notices_queued(incident, count))
        return _forget()


def occasion_of(change: IncidentChange) -> Occasion | None:
    """The updates customers hear about: resolution, a new estimate, a new note."""
    if change.status is IncidentStatus.RESOLVED:
        return Occasion.RESOLVED
    if change.expected_recovery is not None:
        return Occasion.NEW_ESTIMATE
    if change.customer_note is not None:
        return Occasion.NEW_NOTE
    return None


class ActionDropOpsChange(OpsAction):
    def name(self) -> str:
        return "action_drop_ops_change"

    async def act(
        self, member: StaffMember, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        dispatcher.utter_message(text="OK, nothing was changed.")
        return _forget()


def describe(incident: Incident, change: IncidentChange) -> str:
    return _describe_change(incident, change)[0]


def _forget() -> list[EventType]:
    """Also listens next: the rule that ran this action was conditioned on the slot it
    clears, so no rule would predict what follows."""
    return [
        SlotSet("ops_pending", None),
        SlotSet("ops_awaiting_confirmation", False),
        SlotSet("incident_answer", None),
        FollowupAction("action_listen"),
    ]
