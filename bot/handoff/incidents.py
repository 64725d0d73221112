"""How many incidents are active, for the surge rule, from Shopdesk's registry."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import shop_now
from bot.storage.incidents import IncidentRegistry

logger = logging.getLogger(__name__)


class ActiveIncidents:
    """A database that fails here counts as no incident known: the queue still works."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._registry = IncidentRegistry(session_factory)

    async def __call__(self) -> int:
        try:
            return await self._registry.count_active(at=shop_now())
        except SQLAlchemyError as error:
            logger.warning("could not count active incidents (%s)", type(error).__name__)
            return 0
