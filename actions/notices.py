"""A customer turning incident notices off ("stop these messages", or the button under a
notice) and on again. Only the chat's linked customer is changed: the metadata names
them, nothing the message says does."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.signals import notice_customer_id
from bot.storage.notices import set_opted_out


class _NoticeSwitch(Action, ABC):
    opted_out = True

    @abstractmethod
    def name(self) -> str:
        """rasa-sdk registers every concrete action: this base is not one."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        customer_id = notice_customer_id(tracker)
        if customer_id is None:
            dispatcher.utter_message(
                text="You aren't getting incident notices from us in this chat. If you have "
                "a question about an order, just ask."
            )
            return []

        def switch() -> None:
            with services.shopdesk_sessions().begin() as session:
                set_opted_out(session, customer_id=customer_id, opted_out=self.opted_out)

        await asyncio.to_thread(switch)
        dispatcher.utter_message(text=self.confirmation())
        return []

    def confirmation(self) -> str:
        return (
            'Done: you won\'t get any more incident notices. Say "turn notices back on" '
            "whenever you want them again. You can still ask me about your orders any time."
        )


class ActionStopNotices(_NoticeSwitch):
    def name(self) -> str:
        return "action_stop_notices"


class ActionResumeNotices(_NoticeSwitch):
    opted_out = False

    def name(self) -> str:
        return "action_resume_notices"

    def confirmation(self) -> str:
        return (
            "Done: notices are back on. When an incident delays one of your orders, "
            'I\'ll tell you here. Say "stop these messages" to turn them off.'
        )
