"""The gate every ops skill passes: only staff whose role may run incidents.

The role comes from the gateway's metadata (actions/signals.py), checked again here on
every turn, so a member disabled or moved to another role mid-conversation is refused
at once, and a customer asking "which incidents are active?" learns nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import lru_cache

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.signals import StaffMember, staff_member
from bot.domain.staff import Permission, may
from bot.ops.desk import OpsDesk
from bot.storage.incidents import Author


def ops_member(tracker: Tracker) -> StaffMember | None:
    member = staff_member(tracker)
    return member if member is not None and may(member.role, Permission.INCIDENTS) else None


def author_of(member: StaffMember) -> Author:
    return Author(member.name, member.id)


@lru_cache(maxsize=1)
def ops_desk() -> OpsDesk:
    return OpsDesk(
        sessions=services.shopdesk_sessions(),
        orders=services.order_desk(),
        policy=services.policy(),
    )


class OpsAction(Action, ABC):
    """Refuses politely unless the writer may run incidents; then `act`."""

    def __init__(self, desk: OpsDesk | None = None) -> None:
        self._desk = desk

    @property
    def desk(self) -> OpsDesk:
        return self._desk or ops_desk()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        member = ops_member(tracker)
        if member is None:
            dispatcher.utter_message(response="utter_staff_only")
            return []
        return await self.act(member, dispatcher, tracker)

    @abstractmethod
    async def act(
        self, member: StaffMember, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """Answer the ops person."""
