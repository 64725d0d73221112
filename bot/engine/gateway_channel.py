"""The engine's only input channel: Rasa's REST channel, but only for the gateway.

Rasa's stock REST channel accepts anyone on the port and logs message texts on
failure. This one checks the gateway's bearer token, validates the body, passes
the gateway's metadata on to the actions, never logs texts, and answers 500 when
the turn failed so the gateway can keep the message and retry it later.

Rasa carries on after an action fails (the action server is down, say) and answers
with whatever it has, often nothing. A turn whose action failed is reported as a
failure (503), so the gateway keeps the message and answers it once actions work.
The failed turn is also taken back out of the dialogue (with Rasa's own "revert the
user utterance" event, so the stored history keeps it), or the retry would find the
message there already: the bot would see it twice, and one unclear message would
count as two in a row and hand the customer to a person.

A message comes with the gateway's own id for it (`gateway_message_id`), which becomes
Rasa's message id. If the gateway sends a message again that the engine had answered
(the engine saved the turn, then died, or the gateway died, before the answer got
back), the engine sends that answer again instead of running a second turn: the
stored history keeps one turn per message. The gateway orders a conversation's turns
(one at a time across gateways), so the check needs no lock of its own.

When the gateway asks (`report_intent` in the metadata, until it knows a contact's
topic), the answer also carries the intent the turn read, as a signal the gateway
never shows: the desk's "contacts by intent" need it, and only the engine knows it.
"""

import contextvars
import hmac
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    UserUtteranceReverted,
    UserUttered,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

# The gateway's request for the turn's intent, and the signal key of its answer (the key
# actions use too: bot/channels/rasa_client.py reads both).
REPORT_INTENT = "report_intent"
SIGNAL_KEY = "shopdesk_signal"
# The gateway's id of the stored message (bot/channels/relay.py sends it).
GATEWAY_MESSAGE_ID = "gateway_message_id"
# What a bot utterance carries besides its text, as Rasa's collecting channel sends it.
_REPLY_PARTS = ("buttons", "image", "custom", "attachment", "elements", "quick_replies")

# The processor's log line when an action raised (rasa/core/processor.py, `_run_action`).
_ACTION_FAILURE_PREFIX = "Encountered an exception while running action"
_turn_failures: contextvars.ContextVar[Optional[List[str]]] = contextvars.ContextVar(
    "shopdesk_turn_failures", default=None
)


class _ActionFailureWatch(logging.Filter):
    """Notes failed actions of the turn running in this context; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        failures = _turn_failures.get()
        if failures is not None and str(record.msg).startswith(_ACTION_FAILURE_PREFIX):
            failures.append(record.levelname)
        return True


_WATCH = _ActionFailureWatch()


def _watch_action_failures() -> None:
    processor_logger = logging.getLogger("rasa.core.processor")
    if _WATCH not in processor_logger.filters:
        processor_logger.addFilter(_WATCH)


async def _take_back_failed_turn(agent: Any, message: UserMessage) -> None:
    """Reverts the turn of ``message`` if the dialogue still sees it as the latest one.

    A form that ran again in the failed turn has already folded the message into its
    own step (Rasa's applied events), so there is nothing to revert then.
    """
    async with agent.lock_store.lock(message.sender_id):
        tracker = await agent.processor.get_tracker(message.sender_id)
        said = [e for e in tracker.applied_events() if isinstance(e, UserUttered)]
        if not said or said[-1].message_id != message.message_id:
            return
        tracker.update_with_events(
            [UserUtteranceReverted(), ActionExecuted(ACTION_LISTEN_NAME)], agent.domain
        )
        await agent.processor.save_tracker(tracker)


def turn_intent(events: Iterable[Any], message_id: Optional[Text]) -> Optional[Text]:
    """The intent Rasa read from the message `message_id`, from the tracker's events."""
    for event in reversed(list(events)):
        if isinstance(event, UserUttered) and event.message_id == message_id:
            name = (event.intent or {}).get("name")
            return name if isinstance(name, str) and name else None
    return None


def rasa_message_id(metadata: Dict[Text, Any]) -> Optional[Text]:
    gateway_id = metadata.get(GATEWAY_MESSAGE_ID)
    if isinstance(gateway_id, int) and not isinstance(gateway_id, bool):
        return f"gateway-{gateway_id}"
    return None


def earlier_answer(
    events: Iterable[Event], sender_id: Text, message_id: Text
) -> Optional[List[Dict[Text, Any]]]:
    """The bot's answer to the message `message_id` if the engine already took it in, as
    the collecting channel gave it then; None if it did not (or the turn was taken back:
    `events` are the tracker's applied events, where a reverted utterance is gone)."""
    answer: Optional[List[Dict[Text, Any]]] = None
    for event in events:
        if isinstance(event, UserUttered):
            if answer is not None:
                break
            if event.message_id == message_id:
                answer = []
        elif isinstance(event, BotUttered) and answer is not None:
            reply: Dict[Text, Any] = {"recipient_id": sender_id}
            if event.text:
                reply["text"] = event.text
            reply.update({k: v for k, v in (event.data or {}).items() if k in _REPLY_PARTS and v})
            answer.append(reply)
    return answer


async def _earlier_answer(
    agent: Any, sender_id: Text, message_id: Text
) -> Optional[List[Dict[Text, Any]]]:
    outer = agent.tracker_store
    store = getattr(outer, "_tracker_store", outer)  # inside Rasa's FailSafeTrackerStore
    current = getattr(store, "current", None)
    # Rasa's own stores hand out a copy; the cached one must keep the tracker for the turn.
    tracker = await (current(sender_id) if callable(current) else outer.retrieve(sender_id))
    if tracker is None:
        return None
    return earlier_answer(tracker.applied_events(), sender_id, message_id)


def _just_saved(agent: Any, sender_id: Text) -> Any:
    """The tracker the turn saved, from the store's cache without taking it out (see
    bot/engine/runtime/tracker_store.py); None from a store without one."""
    outer = getattr(agent, "tracker_store", None)
    store = getattr(outer, "_tracker_store", outer)  # inside Rasa's FailSafeTrackerStore
    peek = getattr(store, "peek", None)
    return peek(sender_id) if callable(peek) else None


async def _intent_signal(agent: Any, message: UserMessage) -> List[Dict[Text, Any]]:
    """The signal, or nothing if the intent cannot be read: the turn itself succeeded."""
    try:
        tracker = _just_saved(agent, message.sender_id)
        if tracker is None:
            tracker = await agent.processor.get_tracker(message.sender_id)
        intent = turn_intent(tracker.events, message.message_id)
    except Exception:
        logger.exception("could not read the turn's intent for the gateway")
        return []
    if intent is None:
        return []
    signal = {SIGNAL_KEY: {"type": "intent", "name": intent}}
    return [{"recipient_id": message.sender_id, "custom": signal}]


def _repeat(text: Text, sender_id: Text, message_id: Text) -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), sender_id, message_id=message_id)


class GatewayInput(InputChannel):
    """Receives customer messages from the Shopdesk gateway."""

    @classmethod
    def name(cls) -> Text:
        return "gateway"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "InputChannel":
        token = str((credentials or {}).get("token") or "")
        if not token:
            raise ValueError("the gateway channel needs a token (SHOPDESK_ENGINE_CHANNEL_TOKEN)")
        return cls(token)

    def __init__(self, token: Text) -> None:
        self._expected = f"Bearer {token}".encode()
        _watch_action_failures()

    def _authorised(self, request: Request) -> bool:
        given = (request.headers.get("Authorization") or "").encode()
        return hmac.compare_digest(given, self._expected)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("shopdesk_gateway_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            try:
                body = request.json
            except Exception:  # sanic raises on malformed JSON
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "body must be a JSON object"}, status=400)
            sender, text = body.get("sender"), body.get("message")
            metadata = body.get("metadata") or {}
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json({"error": "sender and message are required"}, status=400)
            if not isinstance(metadata, dict):
                return response.json({"error": "metadata must be an object"}, status=400)

            agent = request.app.ctx.agent
            message_id = rasa_message_id(metadata)
            if message_id is not None:
                try:
                    earlier = await _earlier_answer(agent, sender, message_id)
                except Exception:
                    logger.exception("could not read the tracker for an earlier answer")
                    return response.json({"error": "turn failed"}, status=500)
                if earlier is not None:
                    logger.info("a message already answered came again; its answer is repeated")
                    signals: List[Dict[Text, Any]] = []
                    if metadata.get(REPORT_INTENT) is True:
                        signals = await _intent_signal(agent, _repeat(text, sender, message_id))
                    return response.json([*earlier, *signals])
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                sender,
                input_channel=str(metadata.get("channel") or self.name()),
                metadata=metadata,
                message_id=message_id,
            )
            failures: List[str] = []
            _turn_failures.set(failures)
            try:
                await on_new_message(message)
            except CancelledError:
                logger.error("gateway turn cancelled for a conversation")
                return response.json({"error": "turn cancelled"}, status=503)
            except Exception:
                logger.exception("gateway turn failed for a conversation")
                return response.json({"error": "turn failed"}, status=500)
            if failures:
                logger.warning("an action failed during a gateway turn; reporting unavailable")
                try:
                    await _take_back_failed_turn(agent, message)
                except Exception:
                    logger.exception("could not take a failed turn back out of the dialogue")
                return response.json({"error": "action failed"}, status=503)
            signals = []
            if metadata.get(REPORT_INTENT) is True:
                signals = await _intent_signal(agent, message)
            return response.json([*collector.messages, *signals])

        return webhook
