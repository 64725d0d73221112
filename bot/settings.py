"""One typed settings object for every Shopdesk process, read from the environment."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.handoff import HandoffPolicy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


def _sqlite_url(name: str) -> str:
    return f"sqlite:///{VAR_DIR / name}"


class Settings(BaseSettings):
    """Every knob has a working default, so `make run` needs no configuration.

    Tokens have no default: `make setup` writes random ones to `var/secrets.env`,
    which `make run` loads; production sets them in the environment.
    """

    model_config = SettingsConfigDict(
        env_prefix="SHOPDESK_",
        env_file=(".env", str(VAR_DIR / "secrets.env")),
        extra="ignore",
    )

    database_url: str = Field(default=_sqlite_url("shopdesk.db"), validation_alias="DATABASE_URL")
    shop_database_url: str = Field(default=_sqlite_url("demo_shop.db"))

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    rasa_url: str = "http://127.0.0.1:5005"
    action_server_host: str = "127.0.0.1"
    action_server_port: int = 5055

    # Shared secrets between the three processes (loopback, but never open).
    engine_channel_token: SecretStr = SecretStr("")
    rasa_auth_token: SecretStr = SecretStr("")
    action_server_token: SecretStr = SecretStr("")

    backend: str = "sql"  # which OrderBackend/LogisticsBackend adapter to build
    backend_timeout_seconds: float = 3.0
    engine_timeout_seconds: float = 20.0

    knowledge_base_dir: Path = PROJECT_ROOT / "knowledge_base"
    knowledge_index_dir: Path = PROJECT_ROOT / "models" / "knowledge"

    max_message_chars: int = 2000
    # A conversation with no message for this long is closed; the next message starts anew.
    conversation_idle_minutes: float = Field(default=30.0, gt=0)
    # How often kept messages are retried once the engine is back.
    replay_interval_seconds: float = Field(default=2.0, gt=0)

    # Human handoff: which triggers are on, and when the queue is too slow or in surge.
    handoff_on_request: bool = True
    handoff_on_complaint: bool = True
    handoff_on_repeated_fallback: bool = True
    handoff_fallbacks_in_a_row: int = Field(default=2, ge=1)
    handoff_claim_value_threshold: Decimal = Decimal("300")
    handoff_max_wait_minutes: int = Field(default=10, ge=1)
    surge_rate_factor: float = Field(default=3.0, gt=1)
    surge_queue_length: int = Field(default=20, ge=1)
    surge_window_minutes: int = Field(default=15, ge=1)
    # How often queued customers hear their new position and wait.
    queue_update_seconds: float = Field(default=30.0, gt=0)
    # How often conversations idle for conversation_idle_minutes are closed (and counted).
    idle_sweep_seconds: float = Field(default=60.0, gt=0)
    # Redis, for several gateways: pages and consoles hear what another gateway produced
    # (docs/scaling.md). Empty: one gateway, nothing to pass on. May hold a password.
    redis_url: SecretStr = SecretStr("")
    # With several gateways, one runs the replayer, the announcer and the idle closer; if
    # it dies, another takes them over within this long and a third (docs/scaling.md).
    job_lease_seconds: float = Field(default=10.0, ge=1, le=300)
    # The desk's service level (docs/ops.md, "Reports"): the share of handoffs an agent
    # answers within this many seconds, against this target; chat desks often use 80/60.
    service_level_seconds: float = Field(default=60.0, gt=0, le=86400)
    service_level_target: float = Field(default=0.8, gt=0, le=1)
    # Reports one staff member may compute per minute (each reads up to 92 days of events).
    reports_per_minute: int = Field(default=20, ge=1)
    agent_session_hours: float = Field(default=8.0, gt=0)

    # Signs web chat session tokens; `make setup` writes one to var/secrets.env.
    webchat_secret: SecretStr = SecretStr("")
    # Which sites may embed the chat page in the widget's iframe (CSP frame-ancestors).
    webchat_frame_ancestors: str = "*"

    # Telegram: no token, no channel. A webhook URL switches from polling to a webhook.
    telegram_token: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("TELEGRAM_TOKEN", "SHOPDESK_TELEGRAM_TOKEN"),
    )
    telegram_webhook_url: str = Field(
        default="",
        validation_alias=AliasChoices("TELEGRAM_WEBHOOK_URL", "SHOPDESK_TELEGRAM_WEBHOOK_URL"),
    )
    # Telegram sends it back in X-Telegram-Bot-Api-Secret-Token; derived from the token
    # when not set.
    telegram_webhook_secret: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices(
            "TELEGRAM_WEBHOOK_SECRET", "SHOPDESK_TELEGRAM_WEBHOOK_SECRET"
        ),
    )
    # The Bot API's address; tests point it at a fake server on loopback.
    telegram_api_url: str = "https://api.telegram.org/bot"
    # How often replies Telegram refused are sent again.
    telegram_resend_seconds: float = Field(default=10.0, gt=0)
    # Telegram's limits, kept by one limiter for every send (bot/channels/telegram_limiter.py),
    # per gateway process: with N gateways on one bot token, give each 25 / N.
    telegram_messages_per_second: float = Field(default=25.0, gt=0, le=1000)
    telegram_chat_messages_per_second: float = Field(default=1.0, gt=0, le=100)
    # A reply may reach one chat as this many messages at once (Telegram allows short
    # bursts); notices never burst. 1: every message to a chat waits its turn.
    telegram_chat_burst: int = Field(default=3, ge=1, le=20)
    # Incident notices (docs/ops.md): how often the outbox is looked at when it is empty,
    # sends before a notice counts as failed, and how long a notice claimed by a gateway
    # that died stays claimed before another sends it (at least once, see docs/ops.md).
    notice_poll_seconds: float = Field(default=1.0, gt=0)
    notice_max_attempts: int = Field(default=5, ge=1, le=100)
    notice_claim_lease_seconds: float = Field(default=300.0, ge=10)
    support_contact: str = "support@shopdesk.example, or call 400-820-0000 (9:00-21:00)"

    # Security limits (docs/security.md). A "client" is an IP address (an IPv6 /64) on
    # the web and the API, and a Telegram user on Telegram; windows slide.
    client_conversations_limit: int = Field(default=20, ge=1)
    client_conversations_window_seconds: float = Field(default=600.0, gt=0)
    client_messages_limit: int = Field(default=30, ge=1)
    client_messages_window_seconds: float = Field(default=60.0, gt=0)
    # Every web chat frame (pings, delivery reports, messages) of a client's pages.
    client_frames_per_minute: int = Field(default=120, ge=10)
    # Failed ownership proofs, counted in Shopdesk's database across conversations and
    # channels: per order, a lock that doubles with each lock in `proof_memory_hours`;
    # per client, a ceiling on failures across all orders.
    proof_failures_before_lock: int = Field(default=5, ge=2)
    proof_first_lock_minutes: float = Field(default=15.0, gt=0)
    proof_longest_lock_hours: float = Field(default=24.0, gt=0)
    proof_memory_hours: float = Field(default=168.0, gt=0)
    proof_client_failures_per_hour: int = Field(default=10, ge=1)
    proof_client_failures_per_day: int = Field(default=30, ge=1)
    # Failed console sign-ins (docs/console-api.md): strictly per agent name and client,
    # per client across names, and per name across clients only loosely and briefly, so
    # that someone else's failures lock out the agent for minutes at most (and not at all
    # on a client where that agent signed in within `login_known_client_days`).
    login_failures_per_name_and_client: int = Field(default=5, ge=1)
    login_name_and_client_window_seconds: float = Field(default=900.0, gt=0)
    login_failures_per_client: int = Field(default=20, ge=1)
    login_client_window_seconds: float = Field(default=900.0, gt=0)
    login_failures_per_name: int = Field(default=10, ge=1)
    login_name_window_seconds: float = Field(default=300.0, gt=0)
    login_known_client_days: float = Field(default=30.0, ge=0)
    # Argon2 password checks at once (64 MiB each), and how long a sign-in waits for one.
    login_hash_slots: int = Field(default=2, ge=1)
    login_hash_wait_seconds: float = Field(default=2.0, gt=0)
    # Bodies are refused before they are read: the chat API's own limit follows
    # max_message_chars; Telegram's updates get this much; every other route the last.
    telegram_max_update_bytes: int = Field(default=131072, ge=1024)
    max_request_bytes: int = Field(default=16384, ge=1024)
    # Web chat frames (uvicorn refuses larger ones before they are buffered).
    max_websocket_frame_bytes: int = Field(default=65536, ge=1024)
    # Reverse proxies whose X-Forwarded-For / -Proto the gateway believes (uvicorn's
    # forwarded_allow_ips); empty: none, the client address is the TCP peer.
    trusted_proxies: str = ""
    # The console's session cookie: "auto" sets Secure when the request came over HTTPS.
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    # Origins besides the gateway's own that may open the console's WebSocket.
    console_allowed_origins: str = ""

    @field_validator("webchat_frame_ancestors")
    @classmethod
    def _one_directive(cls, value: str) -> str:
        """It is spliced into the CSP header: it must not end the directive or the header."""
        if not value.strip() or any(character in value for character in ";,\r\n"):
            raise ValueError("give sources separated by spaces, like 'https://shop.example'")
        return value.strip()


def handoff_policy(settings: Settings) -> HandoffPolicy:
    return HandoffPolicy(
        on_request=settings.handoff_on_request,
        on_complaint=settings.handoff_on_complaint,
        on_repeated_fallback=settings.handoff_on_repeated_fallback,
        fallbacks_before_handoff=settings.handoff_fallbacks_in_a_row,
        claim_value_threshold=settings.handoff_claim_value_threshold,
        max_acceptable_wait_minutes=settings.handoff_max_wait_minutes,
        surge_rate_factor=settings.surge_rate_factor,
        surge_queue_length=settings.surge_queue_length,
        surge_window_minutes=settings.surge_window_minutes,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings are read once per process; tests build their own `Settings(...)`."""
    return Settings()
