"""Builds the order lookup from settings: which adapter, which database, what timeout.

Actions and the gateway call this once, lazily, and keep the result; nothing
connects at import time. A new adapter (a shop's REST API, say) is one more
entry in `_ADAPTERS`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.backends.sql import SqlShopBackend
from bot.domain.order_desk import OrderDesk
from bot.settings import Settings
from bot.storage.db import make_engine


def _sql_desk(settings: Settings) -> OrderDesk:
    backend = SqlShopBackend(
        engine=make_engine(settings.shop_database_url),
        statement_timeout_seconds=settings.backend_timeout_seconds,
    )
    return OrderDesk(
        orders=backend, logistics=backend, timeout_seconds=settings.backend_timeout_seconds
    )


_ADAPTERS: dict[str, Callable[[Settings], OrderDesk]] = {"sql": _sql_desk}


def build_order_desk(settings: Settings) -> OrderDesk:
    """Fails at start-up on a misspelt backend name, not on a customer's first question."""
    build = _ADAPTERS.get(settings.backend)
    if build is None:
        known = ", ".join(sorted(_ADAPTERS))
        raise ValueError(
            f"unknown order backend {settings.backend!r} (SHOPDESK_BACKEND); known: {known}"
        )
    return build(settings)
