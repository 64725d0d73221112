"""Services the actions use, built on first use (rasa-sdk imports every action module)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from bot.backends.factory import build_order_lookup
from bot.domain.clock import shop_today
from bot.domain.order_lookup import OrderLookup
from bot.settings import get_settings


@lru_cache(maxsize=1)
def order_lookup() -> OrderLookup:
    return build_order_lookup(get_settings())


def support_contact() -> str:
    return get_settings().support_contact


def today() -> date:
    return shop_today()
