"""How far each incident's notices to customers have got, for the console; a thin route.

Only staff who may run incidents (ops, managers) read it, by the role read from the
database on each request: the figures say how many customers an incident reached, which
is the ops desk's business, not an agent's. The page polls it while a fan-out runs, so
it is limited per member like the other staff reads.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from bot.domain.staff import Permission, may
from bot.security.staff_limits import StaffLimits, too_many_reads
from bot.storage.notices import FanOut, latest_fan_outs
from bot.storage.tables import Agent, utc_now
from bot.web.api import ServicesDep, within_limit
from bot.web.console import AgentDep

NOT_FOR_YOUR_ROLE = "incident notices are for ops and managers"
# Incidents shown, the latest fan-out first.
SHOWN = 20

notices_router = APIRouter(prefix="/api/console", tags=["console"])


class FanOutOut(BaseModel):
    incident_id: int
    title: str
    # What the customers were told about: declared, new_estimate, new_note, resolved.
    occasion: str
    planned: int
    sent: int
    failed: int
    skipped: int
    left: int
    # None when nothing is left.
    minutes_left: int | None
    started_at: datetime | None
    # "incident 3: 1,204 of 3,980 notices sent, 0 failed, about 2 min left"
    summary: str


class FanOuts(BaseModel):
    incidents: list[FanOutOut]


def _reader(agent: AgentDep, request: Request) -> Agent:
    if not may(agent.role, Permission.INCIDENTS):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_FOR_YOUR_ROLE)
    limits: StaffLimits = request.app.state.staff_limits
    within_limit(limits.reads, f"staff:{agent.id}", too_many_reads)
    return agent


def _out(fan_out: FanOut) -> FanOutOut:
    progress = fan_out.progress
    return FanOutOut(
        incident_id=progress.incident_id,
        title=fan_out.title,
        occasion=fan_out.occasion,
        planned=progress.planned,
        sent=progress.sent,
        failed=progress.failed,
        skipped=progress.skipped,
        left=progress.left,
        minutes_left=progress.minutes_left(),
        started_at=progress.started_at,
        summary=progress.describe(),
    )


_ERRORS: dict[int | str, dict[str, Any]] = {code: {} for code in (401, 403, 429)}


@notices_router.get("/notices", responses=_ERRORS)
async def read_notices(
    member: Annotated[Agent, Depends(_reader)], services: ServicesDep
) -> FanOuts:
    def read() -> list[FanOut]:
        with services.session_factory() as session:
            return latest_fan_outs(session, limit=SHOWN, now=utc_now())

    return FanOuts(incidents=[_out(fan_out) for fan_out in await asyncio.to_thread(read)])
