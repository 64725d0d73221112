"""Services the actions use, built on first use (rasa-sdk imports every action module)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.backends.factory import build_order_desk
from bot.domain.clock import shop_now, shop_today
from bot.domain.handoff import HandoffPolicy
from bot.domain.order_desk import OrderDesk
from bot.handoff.desk import HandoffDesk
from bot.security.proof_guard import ProofGuard, proof_policy
from bot.settings import get_settings, handoff_policy
from bot.storage.db import make_engine, make_session_factory
from bot.storage.incident_contacts import record_incident_contact
from bot.storage.incidents import IncidentRegistry

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def order_desk() -> OrderDesk:
    return build_order_desk(get_settings(), incidents=incident_registry())


@lru_cache(maxsize=1)
def incident_registry() -> IncidentRegistry:
    """Shopdesk's incidents: what the delay answers and the ops skills read."""
    return IncidentRegistry(shopdesk_sessions())


def support_contact() -> str:
    return get_settings().support_contact


def today() -> date:
    return shop_today()


def now() -> datetime:
    return shop_now()


def policy() -> HandoffPolicy:
    return handoff_policy(get_settings())


@lru_cache(maxsize=1)
def shopdesk_sessions() -> sessionmaker[Session]:
    """Shopdesk's own database (not the shop's): one engine for the whole action server."""
    return make_session_factory(make_engine(get_settings().database_url))


@lru_cache(maxsize=1)
def handoff_desk() -> HandoffDesk:
    """Where the gateway finds the queue."""
    return HandoffDesk(shopdesk_sessions(), policy())


@lru_cache(maxsize=1)
def proof_guard() -> ProofGuard:
    """Counts failed proofs across conversations and channels."""
    return ProofGuard(shopdesk_sessions(), proof_policy(get_settings()))


async def note_incident_contact(*, incident_id: int, conversation_id: str, at: datetime) -> None:
    """For the ops desk's "contacts about it": a failure here must not cost the customer
    their answer, so it is logged and dropped."""

    def write() -> None:
        with shopdesk_sessions().begin() as session:
            record_incident_contact(
                session, incident_id=incident_id, conversation_id=conversation_id, at=at
            )

    try:
        await asyncio.to_thread(write)
    except SQLAlchemyError as error:
        logger.warning("could not record an incident contact (%s)", type(error).__name__)
