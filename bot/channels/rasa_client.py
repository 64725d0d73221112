"""The Rasa engine over HTTP: the gateway's REST-style channel and the NLU parse API.

Error messages name the failure, never the customer's text or a token, because
they are logged.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, TypedDict

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.channels.engine import BotReply, CustomerVerified, EngineTurn, EngineUnavailable
from bot.settings import Settings

logger = logging.getLogger(__name__)


class _RasaButton(BaseModel):
    title: str
    payload: str


class _RasaMessage(BaseModel):
    """One element of the channel's answer; `image` and `custom` have no place in our replies."""

    text: str | None = None
    buttons: list[_RasaButton] = []
    image: str | None = None
    custom: Any = None


_RASA_MESSAGES = TypeAdapter(list[_RasaMessage])

# The key of the custom message actions send to the gateway (actions/signals.py).
SIGNAL_KEY = "shopdesk_signal"


def _verified_customer(custom: Any) -> CustomerVerified | None:
    if not isinstance(custom, dict):
        return None
    signal = custom.get(SIGNAL_KEY)
    if not isinstance(signal, dict) or signal.get("type") != "customer_verified":
        return None
    customer_id = signal.get("customer_id")
    if isinstance(customer_id, bool) or not isinstance(customer_id, int):
        return None
    return CustomerVerified(customer_id=customer_id)


_INTENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _turn_intent(custom: Any) -> str | None:
    """The engine's answer to `report_intent`; the name must look like one of ours."""
    if not isinstance(custom, dict):
        return None
    signal = custom.get(SIGNAL_KEY)
    if not isinstance(signal, dict) or signal.get("type") != "intent":
        return None
    name = signal.get("name")
    return name if isinstance(name, str) and _INTENT_NAME.fullmatch(name) else None


class RasaEngine:
    """Talks to the engine's `gateway` input channel with one pooled HTTP client."""

    def __init__(self, settings: Settings) -> None:
        self._webhook_url = f"{settings.rasa_url.rstrip('/')}/webhooks/gateway/webhook"
        self._rasa_url = settings.rasa_url.rstrip("/")
        self._rasa_token = settings.rasa_auth_token.get_secret_value()
        self._channel_health_url = f"{settings.rasa_url.rstrip('/')}/webhooks/gateway/"
        self._action_health_url = (
            f"http://{settings.action_server_host}:{settings.action_server_port}/health"
        )
        self._timeout_seconds = settings.engine_timeout_seconds
        token = settings.engine_channel_token.get_secret_value()
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"},
            timeout=settings.engine_timeout_seconds,
        )

    async def send(
        self, *, conversation_id: str, text: str, metadata: dict[str, object]
    ) -> EngineTurn:
        payload = {"sender": conversation_id, "message": text, "metadata": metadata}
        try:
            # httpx times each read separately; this bounds the whole exchange.
            async with asyncio.timeout(self._timeout_seconds):
                response = await self._client.post(self._webhook_url, json=payload)
        except (TimeoutError, httpx.TimeoutException):
            raise EngineUnavailable(
                f"engine did not answer within {self._timeout_seconds:g} s"
            ) from None
        except httpx.HTTPError as error:
            raise EngineUnavailable(f"engine unreachable ({type(error).__name__})") from None
        if not response.is_success:
            raise EngineUnavailable(f"engine answered HTTP {response.status_code}")
        try:
            messages = _RASA_MESSAGES.validate_json(response.content)
        except ValidationError:
            raise EngineUnavailable("engine answered something other than a message list") from None
        replies = [
            BotReply(
                text=message.text,
                buttons=[{"title": b.title, "payload": b.payload} for b in message.buttons],
            )
            for message in messages
            if message.text is not None or message.buttons
        ]
        verified = [
            signal
            for signal in (_verified_customer(message.custom) for message in messages)
            if signal is not None
        ]
        intents = [
            intent
            for intent in (_turn_intent(message.custom) for message in messages)
            if intent is not None
        ]
        dropped = len(messages) - len(replies) - len(verified) - len(intents)
        if dropped:
            logger.info("dropped %d image/custom-only replies", dropped)
        return EngineTurn(
            replies=replies, verified_customers=verified, intent=intents[-1] if intents else None
        )

    async def ready(self) -> bool:
        """Both the engine's channel and the action server answer their health checks."""
        try:
            async with asyncio.timeout(2):
                channel = await self._client.get(self._channel_health_url)
                actions = await self._client.get(self._action_health_url)
        except (TimeoutError, httpx.HTTPError):
            return False
        return channel.is_success and actions.is_success

    async def resume(self, *, conversation_id: str, outcome: str) -> None:
        """Rasa's HTTP API, with its auth token (a query parameter, never logged)."""
        # The paused turn ended without listening; without the action_listen the rules
        # would read the next message as an unexpected one and fall back.
        events = [
            {"event": "resume"},
            {"event": "slot", "name": "handoff_outcome", "value": outcome},
            {"event": "action", "name": "action_listen"},
        ]
        try:
            async with asyncio.timeout(self._timeout_seconds):
                response = await self._client.post(
                    f"{self._rasa_url}/conversations/{conversation_id}/tracker/events",
                    params={"token": self._rasa_token, "include_events": "NONE"},
                    json=events,
                )
        except (TimeoutError, httpx.HTTPError) as error:
            raise EngineUnavailable(f"engine unreachable ({type(error).__name__})") from None
        if not response.is_success:
            raise EngineUnavailable(f"engine answered HTTP {response.status_code} to resume")

    async def aclose(self) -> None:
        await self._client.aclose()


class ParsedText(TypedDict):
    text: str
    intent: str | None
    confidence: float
    entities: list[dict[str, Any]]
    intent_ranking: list[dict[str, Any]]


class _RasaIntent(BaseModel):
    name: str | None = None
    confidence: float = 0.0


class _RasaParse(BaseModel):
    text: str
    intent: _RasaIntent | None = None
    entities: list[dict[str, Any]] = []
    intent_ranking: list[dict[str, Any]] = []


def parse_text(settings: Settings, text: str) -> ParsedText:
    """Classifies `text` with the running engine, for `shopdesk nlu parse`.

    The token travels as a query parameter because that is how Rasa's HTTP API
    checks it; errors therefore never include the URL.
    """
    url = f"{settings.rasa_url.rstrip('/')}/model/parse"
    try:
        response = httpx.post(
            url,
            params={"token": settings.rasa_auth_token.get_secret_value()},
            json={"text": text},
            timeout=settings.engine_timeout_seconds,
        )
    except httpx.HTTPError as error:
        raise EngineUnavailable(
            f"Rasa engine at {settings.rasa_url} is unreachable ({type(error).__name__})"
        ) from None
    if response.status_code in (401, 403):
        raise EngineUnavailable("Rasa engine refused SHOPDESK_RASA_AUTH_TOKEN")
    if not response.is_success:
        raise EngineUnavailable(f"Rasa engine answered HTTP {response.status_code}")
    try:
        parsed = _RasaParse.model_validate_json(response.content)
    except ValidationError:
        raise EngineUnavailable("Rasa engine answered something unparseable") from None
    intent = parsed.intent or _RasaIntent()
    return {
        "text": parsed.text,
        "intent": intent.name,
        "confidence": intent.confidence,
        "entities": parsed.entities,
        "intent_ranking": parsed.intent_ranking,
    }
