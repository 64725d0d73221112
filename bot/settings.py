"""One typed settings object for every Shopdesk process, read from the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    support_contact: str = "support@shopdesk.example, or call 400-820-0000 (9:00-21:00)"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings are read once per process; tests build their own `Settings(...)`."""
    return Settings()
