"""The managers' page and its API: the desk's figures as JSON, CSV and charts; thin routes.

Only staff whose role may read reports (ops, managers) get them, by the role read from
the database on each request. A refusal comes before the input is even looked at, so
nobody without a session learns what a valid request would be. Each computation reads
up to 92 days of events, so it is limited per staff member.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from bot.domain.clock import SHOP_TIMEZONE, shop_today
from bot.domain.desk_report import report_rows
from bot.domain.report_period import PeriodError, ReportPeriod, period_between
from bot.domain.staff import Permission, may
from bot.security.rate_limit import SlidingWindowLimiter
from bot.settings import Settings
from bot.storage.desk_report import build_report, service_level_rule
from bot.storage.tables import Agent
from bot.web.api import ServicesDep, within_limit
from bot.web.console import AgentDep, current_agent

# Outside the static files, so the page is served only through its route, to ops and managers.
PAGE = Path(__file__).resolve().parent / "protected" / "reports.html"

NOT_FOR_YOUR_ROLE = "the desk's reports are for ops and managers"
_REFUSED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shopdesk — reports</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/chat.css">
<link rel="stylesheet" href="/static/console.css"></head>
<body><main class="login-view"><div class="login-card"><h1>Desk reports</h1>
<p>{sentence}</p><p><a href="/console">Go to the console</a></p></div></main></body></html>
"""
_REFUSALS = {
    status.HTTP_401_UNAUTHORIZED: "Sign in to the console first, then open the reports again.",
    status.HTTP_403_FORBIDDEN: "The desk's reports are for ops staff and managers.",
}

reports_page_router = APIRouter(include_in_schema=False)
reports_router = APIRouter(prefix="/api/console", tags=["console"])


def report_limiter(settings: Settings) -> SlidingWindowLimiter:
    """Kept on the app's state (`report_limits`), one per gateway process."""
    return SlidingWindowLimiter(limit=settings.reports_per_minute, window_seconds=60.0)


def too_many_reports(retry_after: str) -> str:
    return f"too many reports asked for from this account; try again in {retry_after} s"


def report_reader(agent: AgentDep, request: Request) -> Agent:
    if not may(agent.role, Permission.REPORTS):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_FOR_YOUR_ROLE)
    limiter: SlidingWindowLimiter = request.app.state.report_limits
    within_limit(limiter, f"staff:{agent.id}", too_many_reports)
    return agent


def asked_period(
    reader: Annotated[Agent, Depends(report_reader)],
    from_: Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="last day, YYYY-MM-DD (default today)")] = None,
    channel: Annotated[
        str | None, Query(description="all (default), webchat, telegram or api")
    ] = None,
) -> ReportPeriod:
    """Whole days in the shop's time zone; read by hand so the 422 says what is wrong."""
    try:
        return period_between(from_, to, channel=channel, today=shop_today(), zone=SHOP_TIMEZONE)
    except PeriodError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None


PeriodDep = Annotated[ReportPeriod, Depends(asked_period)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no session"},
    403: {"description": NOT_FOR_YOUR_ROLE},
    422: {"description": "a date or channel that cannot be a report period"},
    429: {"description": "too many reports from this account"},
}


def _report(services: ServicesDep, period: ReportPeriod) -> dict[str, Any]:
    with services.session_factory() as session:
        return build_report(session, period=period, rule=service_level_rule(services.settings))


@reports_page_router.get("/console/reports", response_model=None)
def reports_page(
    services: ServicesDep, shopdesk_agent: Annotated[str | None, Cookie()] = None
) -> Response:
    """Refused like the API (401, 403), as a page that says where to sign in."""
    try:
        agent = current_agent(services, shopdesk_agent)
    except HTTPException as refusal:
        sentence = _REFUSALS[refusal.status_code]
        return HTMLResponse(_REFUSED_PAGE.format(sentence=sentence), refusal.status_code)
    if not may(agent.role, Permission.REPORTS):
        return HTMLResponse(
            _REFUSED_PAGE.format(sentence=_REFUSALS[status.HTTP_403_FORBIDDEN]),
            status.HTTP_403_FORBIDDEN,
        )
    return FileResponse(PAGE, headers={"Cache-Control": "no-cache"})


@reports_router.get("/reports", responses=_ERRORS)
def report(period: PeriodDep, services: ServicesDep) -> JSONResponse:
    """The figures of the contacts opened in the period (docs/console-api.md, "Reports")."""
    return JSONResponse(_report(services, period), headers={"Cache-Control": "no-store"})


def _cell(text: str) -> str:
    """A cell a spreadsheet would run as a formula (an incident title like "=HYPERLINK(…)")
    is written as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@reports_router.get("/reports.csv", responses=_ERRORS, response_class=Response)
def report_csv(period: PeriodDep, services: ServicesDep) -> Response:
    """The same numbers as /reports, one per row, with each figure's formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "figure", "value", "formula"])
    for row in report_rows(_report(services, period)):
        writer.writerow([_cell(cell) for cell in row])
    last = (period.end - timedelta(microseconds=1)).astimezone(SHOP_TIMEZONE)
    start = period.start.astimezone(SHOP_TIMEZONE)
    name = f"shopdesk-report-{start:%Y-%m-%d}-{last:%Y-%m-%d}-{period.channel_name}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
