"""`shopdesk wait-ready`: wait until engine, action server and gateway answer, then say where.

`make run` starts the three processes at once and the engine needs a while to
load its model; this tells a newcomer when the bot can actually be used.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bot.settings import Settings

POLL_INTERVAL_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class _Service:
    name: str
    # Shown to the user; never includes a token.
    url: str
    is_ready: Callable[[httpx.Client], bool]


def _browser_host(host: str) -> str:
    """A server bound to every interface is still reached on loopback."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


def gateway_url(settings: Settings) -> str:
    return f"http://{_browser_host(settings.gateway_host)}:{settings.gateway_port}"


def _engine_ready(settings: Settings) -> Callable[[httpx.Client], bool]:
    def check(client: httpx.Client) -> bool:
        response = client.get(
            f"{settings.rasa_url.rstrip('/')}/status",
            params={"token": settings.rasa_auth_token.get_secret_value()},
        )
        if response.status_code != 200:
            return False
        body = response.json()
        # The HTTP API answers before the model is loaded; only a model file means ready.
        return isinstance(body, dict) and bool(body.get("model_file"))

    return check


def _answers_200(url: str) -> Callable[[httpx.Client], bool]:
    def check(client: httpx.Client) -> bool:
        return client.get(url).status_code == 200

    return check


def _services(settings: Settings) -> list[_Service]:
    actions_url = f"http://{settings.action_server_host}:{settings.action_server_port}/health"
    healthz_url = f"{gateway_url(settings)}/healthz"
    return [
        _Service("Rasa engine", f"{settings.rasa_url}/status", _engine_ready(settings)),
        _Service("action server", actions_url, _answers_200(actions_url)),
        _Service("gateway", healthz_url, _answers_200(healthz_url)),
    ]


def _probe(service: _Service, client: httpx.Client) -> bool:
    try:
        return service.is_ready(client)
    except (httpx.HTTPError, ValueError):
        return False  # not listening yet, or half started and answering garbage


def wait_until_ready(settings: Settings, *, timeout_seconds: float) -> bool:
    """Polls all three until each has answered once; False (naming the laggards) on timeout."""
    waiting = _services(settings)
    deadline = time.monotonic() + timeout_seconds
    print(f"waiting up to {timeout_seconds:g} s for: {', '.join(s.name for s in waiting)}")
    with httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        while True:
            for service in list(waiting):
                if _probe(service, client):
                    waiting.remove(service)
                    print(f"  {service.name} is up")
            if not waiting:
                break
            if time.monotonic() >= deadline:
                for service in waiting:
                    print(f"  {service.name} is not up ({service.url})")
                print(f"Shopdesk is not ready after {timeout_seconds:g} s")
                return False
            time.sleep(POLL_INTERVAL_SECONDS)
    base = gateway_url(settings)
    print("Shopdesk is ready:")
    print(f"  web chat:  {base}/")
    print(f"  console:   {base}/console  (agents: .venv/bin/shopdesk agents add NAME --name ...)")
    print(f'  widget:    <script src="{base}/widget.js" defer></script>  (docs/channels.md)')
    print(f"  chat API:  {base}/api/conversations")
    print(f"  API schema: {base}/openapi.json  (docs/chat-api.md explains it)")
    print("  try it:    .venv/bin/shopdesk demo orders --json, then the README's curl lines")
    print(f"  Telegram:  {telegram_summary(settings)}")
    return True


def telegram_summary(settings: Settings) -> str:
    if not settings.telegram_token.get_secret_value():
        return "off (set TELEGRAM_TOKEN to connect a bot; docs/channels.md)"
    if settings.telegram_webhook_url:
        return f"on, webhook at {settings.telegram_webhook_url}"
    return "on, polling"
