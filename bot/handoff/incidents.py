"""How many incidents are active, for the surge rule, from the shop's backend."""

from __future__ import annotations

from bot.backends.factory import build_order_desk
from bot.backends.protocols import BackendUnavailable
from bot.domain.clock import shop_now
from bot.domain.order_desk import OrderDesk
from bot.settings import Settings


class ActiveIncidents:
    """Built on first use; an unreachable backend counts as no incident known."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._desk: OrderDesk | None = None

    async def __call__(self) -> int:
        if self._desk is None:
            self._desk = build_order_desk(self._settings)
        try:
            return len(await self._desk.active_incidents(at=shop_now()))
        except BackendUnavailable:
            return 0
