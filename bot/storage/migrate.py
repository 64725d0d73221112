"""Applies the Alembic migrations of Shopdesk's database and of the demo shop's."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config

from bot.storage.db import prepare_sqlite_file

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

Schema = Literal["shopdesk", "shop"]


def alembic_config(url: str, *, schema: Schema) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR / schema))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, *, schema: Schema) -> None:
    """Idempotent: a database already at the head revision is left as it is."""
    prepare_sqlite_file(url)
    command.upgrade(alembic_config(url, schema=schema), "head")
