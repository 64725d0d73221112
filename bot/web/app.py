"""The gateway's FastAPI application.

Every error leaves as JSON `{"detail": "<sentence>"}`: clients get something they
can show, and nobody gets a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.channels.delivery import NoPush
from bot.channels.engine import ConversationEngine
from bot.channels.event_bus import EventBus, make_event_bus
from bot.channels.idle_closer import IdleCloser
from bot.channels.notice_sender import NoticeSender
from bot.channels.ops_chat import OpsChatDelivery
from bot.channels.rasa_client import RasaEngine
from bot.channels.relay import Relay, TurnLocks
from bot.channels.replay import Replayer
from bot.channels.shared_locks import SharedConversationLocks
from bot.channels.single_instance import Job, SingleInstanceJobs, instance_name
from bot.channels.telegram import WEBHOOK_PATH, TelegramChannel
from bot.channels.webchat_hub import WebChatHub
from bot.handoff.announcer import QueueAnnouncer
from bot.handoff.console_hub import ConsoleHub
from bot.handoff.customer_side import HandoffRouter
from bot.handoff.incidents import ActiveIncidents
from bot.security.staff_limits import StaffLimits
from bot.settings import Settings, get_settings, handoff_policy
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.web.api import GatewayServices, health_router, router
from bot.web.body_limits import BodySizeLimit, gateway_body_limits
from bot.web.console import console_page_router, console_router
from bot.web.notices import notices_router
from bot.web.ops_chat import ops_router
from bot.web.pages import pages_router, static_files
from bot.web.reports import report_limiter, reports_page_router, reports_router
from bot.web.security_headers import SecurityHeaders
from bot.web.telegram_webhook import telegram_router

logger = logging.getLogger(__name__)

BODY_SHAPE = 'body must be JSON like {"text": "..."}'


DATABASE_AWAY = "the service is briefly unavailable; please send that again in a few seconds"
DATABASE_RETRY_SECONDS = 5
# The database could not be reached, or a connection to it broke mid-request.
DATABASE_AWAY_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def database_away(error: Exception) -> bool:
    """A connection that failed or broke, or a busy SQLite file: worth sending again. An
    OperationalError can also be a schema problem (SQLite says "no such table" with
    one), which no retry mends."""
    if isinstance(error, sa_exc.TimeoutError | sa_exc.InterfaceError):
        return True
    if not isinstance(error, sa_exc.OperationalError):
        return False
    if error.connection_invalidated:
        return True
    if type(error.orig).__module__.startswith("sqlite3"):
        return "locked" in str(error.orig) or "busy" in str(error.orig)
    return True


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """One sentence for the first problem, never echoing the input (it may be personal)."""
    for error in errors:
        location = tuple(error.get("loc", ()))
        if location[:1] != ("body",):
            continue
        if location[1:2] == ("text",):
            return "text is required" if error.get("type") == "missing" else "text must be a string"
        if error.get("type") == "extra_forbidden" and len(location) == 2:
            return f'unexpected field "{location[1]}"; {BODY_SHAPE}'
        return BODY_SHAPE
    return "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    async def on_validation_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return JSONResponse(
            {"detail": describe_validation_errors(error.errors())},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == status.HTTP_400_BAD_REQUEST:
            # FastAPI's answer to a body it cannot even decode (invalid UTF-8, say);
            # this API answers 422 for every body it will not process.
            return JSONResponse(
                {"detail": BODY_SHAPE}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
            )
        return await http_exception_handler(request, error)

    async def on_unexpected_error(request: Request, error: Exception) -> Response:
        # Type and route only: exception messages can quote SQL parameters, i.e. customer
        # text. The server logs the traceback itself, since Starlette re-raises.
        logger.error(
            "unhandled %s in %s %s", type(error).__name__, request.method, request.url.path
        )
        return JSONResponse(
            {"detail": "internal error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR
        )

    async def on_database_away(request: Request, error: Exception) -> Response:
        # PostgreSQL restarting or failing over: what failed was not acknowledged, so the
        # client may send it again (the web chat does, from its outbox).
        if not database_away(error):
            return await on_unexpected_error(request, error)
        logger.warning(
            "database unavailable (%s) in %s %s",
            type(error).__name__, request.method, request.url.path,
        )  # fmt: skip
        return JSONResponse(
            {"detail": DATABASE_AWAY},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
        )

    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for away in DATABASE_AWAY_ERRORS:
        app.add_exception_handler(away, on_database_away)
    app.add_exception_handler(Exception, on_unexpected_error)


def _webchat_secret(settings: Settings) -> str:
    secret = settings.webchat_secret.get_secret_value()
    if secret:
        return secret
    logger.warning(
        "SHOPDESK_WEBCHAT_SECRET is not set: web chat sessions end when the gateway restarts"
    )
    return secrets.token_urlsafe(32)


TELEGRAM_OFF = "Telegram channel is off: set TELEGRAM_TOKEN to connect a bot (docs/channels.md)"
TELEGRAM_RETRY_SECONDS = 30.0


async def _run_telegram(channel: TelegramChannel) -> None:
    """Keeps trying to start (the Bot API may be unreachable), then holds the channel open
    for as long as the gateway runs."""
    while True:
        try:
            await channel.start()
            break
        except Exception as error:
            logger.error(
                "Telegram channel could not start (%s); retrying in %g s",
                type(error).__name__,
                TELEGRAM_RETRY_SECONDS,
            )
            await asyncio.sleep(TELEGRAM_RETRY_SECONDS)
    try:
        await asyncio.Event().wait()
    finally:
        await channel.stop()


def _build_services(
    settings: Settings,
    session_factory: sessionmaker[Session],
    engine: ConversationEngine,
    bus: EventBus,
    locks: TurnLocks | None,
) -> GatewayServices:
    console = ConsoleHub(bus)
    incidents = ActiveIncidents(session_factory)
    router = HandoffRouter(
        session_factory=session_factory,
        policy=handoff_policy(settings),
        notify_agents=console.notify,
        active_incidents=incidents,
    )
    services = GatewayServices(
        settings=settings,
        session_factory=session_factory,
        relay=Relay(session_factory=session_factory, engine=engine, paused=router, locks=locks),
        webchat=WebChatHub(bus),
        webchat_secret=_webchat_secret(settings),
        console=console,
    )
    services.deliveries.update({"api": NoPush(), "webchat": services.webchat})
    services.deliveries["console"] = OpsChatDelivery(
        session_factory=session_factory, console=console
    )
    return services


def _start_telegram(settings: Settings, services: GatewayServices) -> TelegramChannel | None:
    if not settings.telegram_token.get_secret_value():
        logger.info(TELEGRAM_OFF)
        return None
    telegram = TelegramChannel(
        settings=settings,
        relay=services.relay,
        session_factory=services.session_factory,
        idle_after=services.idle_after,
        limits=services.limits,
    )
    services.deliveries["telegram"] = telegram
    services.background.add(asyncio.create_task(_run_telegram(telegram)))
    return telegram


def _single_instance_jobs(
    settings: Settings,
    services: GatewayServices,
    *,
    telegram: TelegramChannel | None,
    notices: NoticeSender,
) -> SingleInstanceJobs:
    """What must run on one gateway instance at a time: the replayer of kept messages,
    the queue announcer, the closer of idle conversations, the notice sender, and
    Telegram's re-sends and (in polling mode) its updates."""
    replayer = Replayer(
        relay=services.relay,
        session_factory=services.session_factory,
        deliveries=services.deliveries,
        interval_seconds=settings.replay_interval_seconds,
        stale_after=timedelta(seconds=settings.engine_timeout_seconds * 3),
    )
    announcer = QueueAnnouncer(
        session_factory=services.session_factory,
        policy=handoff_policy(settings),
        deliveries=services.deliveries,
        console=services.console,
        active_incidents=services.active_incidents,
        interval_seconds=settings.queue_update_seconds,
    )
    closer = IdleCloser(
        session_factory=services.session_factory,
        idle_after=services.idle_after,
        interval_seconds=settings.idle_sweep_seconds,
    )
    jobs: list[Job] = [
        replayer.run_forever,
        announcer.run_forever,
        closer.run_forever,
        notices.run_as_job,
    ]
    if telegram is not None:
        resend_every = settings.telegram_resend_seconds
        jobs.append(functools.partial(telegram.resend_forever, every_seconds=resend_every))
        if not telegram.uses_webhook:
            jobs.append(telegram.poll_updates)
    return SingleInstanceJobs(
        session_factory=services.session_factory,
        name="gateway-jobs",
        jobs=jobs,
        lease_seconds=settings.job_lease_seconds,
        holder=instance_name(settings.gateway_port),
    )


async def _cancel(tasks: set[asyncio.Task[None]]) -> None:
    running = list(tasks)
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)


def create_app(
    settings: Settings | None = None, *, engine: ConversationEngine | None = None
) -> FastAPI:
    """`engine` replaces the Rasa engine, for tests and for channels without Rasa."""
    app_settings = settings if settings is not None else get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Migrating here means a fresh database works with nothing but `python -m bot.web`.
        await asyncio.to_thread(upgrade, app_settings.database_url, schema="shopdesk")
        async with AsyncExitStack() as cleanup:
            database = make_engine(app_settings.database_url)
            cleanup.callback(database.dispose)
            conversation_engine = engine
            if conversation_engine is None:
                # Built here, not in create_app: its HTTP client belongs to this event loop.
                rasa = RasaEngine(app_settings)
                cleanup.push_async_callback(rasa.aclose)
                conversation_engine = rasa
            session_factory = make_session_factory(database)
            bus = make_event_bus(app_settings.redis_url.get_secret_value())
            await bus.start()
            cleanup.push_async_callback(bus.stop)
            locks = None
            if redis_url := app_settings.redis_url.get_secret_value():
                locks = SharedConversationLocks(redis_url)
                cleanup.push_async_callback(locks.aclose)
            services = _build_services(
                app_settings, session_factory, conversation_engine, bus, locks
            )
            app.state.services = services
            cleanup.push_async_callback(_cancel, services.background)
            app.state.telegram = _start_telegram(app_settings, services)
            notices = NoticeSender(
                session_factory=session_factory, settings=app_settings,
                telegram=app.state.telegram, webchat=services.webchat,
            )  # fmt: skip
            jobs = _single_instance_jobs(
                app_settings, services, telegram=app.state.telegram, notices=notices
            )
            # Stopped first (the stack unwinds backwards): the notices under way finish
            # before Telegram's client closes.
            cleanup.push_async_callback(_cancel, {asyncio.create_task(jobs.run_forever())})
            yield

    app = FastAPI(
        title="Shopdesk gateway",
        summary="Chat API of Shopdesk, the customer-service bot for online shops",
        lifespan=lifespan,
    )
    _install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        limits=gateway_body_limits(
            app_settings, chat_prefix=router.prefix, telegram_path=WEBHOOK_PATH
        ),
    )
    app.add_middleware(SecurityHeaders, framed_pages={"/": app_settings.webchat_frame_ancestors})
    app.include_router(health_router)
    app.include_router(router)
    app.include_router(pages_router)
    app.include_router(telegram_router)
    app.include_router(console_router)
    app.include_router(console_page_router)
    app.include_router(ops_router)
    app.include_router(notices_router)
    app.include_router(reports_router)
    app.include_router(reports_page_router)
    app.state.report_limits = report_limiter(app_settings)
    app.state.staff_limits = StaffLimits.from_settings(app_settings)
    app.mount("/static", static_files(), name="static")
    return app
