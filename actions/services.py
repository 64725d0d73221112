"""Services the actions use, built on first use (rasa-sdk imports every action module)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from bot.backends.factory import build_order_desk
from bot.domain.clock import shop_now, shop_today
from bot.domain.order_desk import OrderDesk
from bot.settings import get_settings


@lru_cache(maxsize=1)
def order_desk() -> OrderDesk:
    return build_order_desk(get_settings())


def support_contact() -> str:
    return get_settings().support_contact


def today() -> date:
    return shop_today()


def now() -> datetime:
    return shop_now()
