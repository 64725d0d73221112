"""Services the actions use, built on first use (rasa-sdk imports every action module)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from bot.backends.factory import build_order_desk
from bot.domain.clock import shop_now, shop_today
from bot.domain.handoff import HandoffPolicy
from bot.domain.order_desk import OrderDesk
from bot.handoff.desk import HandoffDesk
from bot.security.proof_guard import ProofGuard, proof_policy
from bot.settings import get_settings, handoff_policy
from bot.storage.db import make_engine, make_session_factory


@lru_cache(maxsize=1)
def order_desk() -> OrderDesk:
    return build_order_desk(get_settings())


def support_contact() -> str:
    return get_settings().support_contact


def today() -> date:
    return shop_today()


def now() -> datetime:
    return shop_now()


def policy() -> HandoffPolicy:
    return handoff_policy(get_settings())


@lru_cache(maxsize=1)
def _shopdesk_sessions() -> sessionmaker[Session]:
    """Shopdesk's own database (not the shop's): one engine for the whole action server."""
    return make_session_factory(make_engine(get_settings().database_url))


@lru_cache(maxsize=1)
def handoff_desk() -> HandoffDesk:
    """Where the gateway finds the queue."""
    return HandoffDesk(_shopdesk_sessions(), policy())


@lru_cache(maxsize=1)
def proof_guard() -> ProofGuard:
    """Counts failed proofs across conversations and channels."""
    return ProofGuard(_shopdesk_sessions(), proof_policy(get_settings()))
