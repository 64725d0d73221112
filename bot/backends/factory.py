"""Builds the order lookup from settings: which adapter, which database, what timeout.

Actions and the gateway call this once, lazily, and keep the result; nothing
connects at import time. A new adapter (a shop's REST API, say) is one more
entry in `_ADAPTERS`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.backends.sql import SqlShopBackend
from bot.domain.order_desk import IncidentSource, OrderDesk
from bot.settings import Settings
from bot.storage.db import make_engine


def _sql_shop(settings: Settings) -> SqlShopBackend:
    return SqlShopBackend(
        engine=make_engine(settings.shop_database_url),
        statement_timeout_seconds=settings.backend_timeout_seconds,
    )


_ADAPTERS: dict[str, Callable[[Settings], SqlShopBackend]] = {"sql": _sql_shop}


def build_order_desk(settings: Settings, *, incidents: IncidentSource) -> OrderDesk:
    """Fails at start-up on a misspelt backend name, not on a customer's first question.

    The shop's systems give orders and shipments; incidents are Shopdesk's own registry.
    """
    build = _ADAPTERS.get(settings.backend)
    if build is None:
        known = ", ".join(sorted(_ADAPTERS))
        raise ValueError(
            f"unknown order backend {settings.backend!r} (SHOPDESK_BACKEND); known: {known}"
        )
    shop = build(settings)
    return OrderDesk(
        orders=shop,
        logistics=shop,
        incidents=incidents,
        timeout_seconds=settings.backend_timeout_seconds,
    )
