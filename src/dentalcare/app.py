"""create_app(): the FastAPI application, its lifespan (pool, listener, hub) and routers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from dentalcare import __version__
from dentalcare.accounts.endpoints import router as accounts_router
from dentalcare.accounts.service import AccountMailLimits
from dentalcare.appointments.endpoints import router as appointments_router
from dentalcare.audit.endpoints import router as audit_router
from dentalcare.auth.endpoints import router as auth_router
from dentalcare.auth.passwords import PasswordHashing
from dentalcare.availability.cache import SlotsCache
from dentalcare.availability.endpoints import dentist_slots_router
from dentalcare.availability.endpoints import router as availability_router
from dentalcare.chatbot.endpoints import router as chat_router
from dentalcare.chatbot.retention import ChatRetention
from dentalcare.chatbot.service import TurnLimiter
from dentalcare.clinic.endpoints import chairs_router
from dentalcare.clinic.endpoints import router as clinic_router
from dentalcare.clock import Clock, SystemClock
from dentalcare.config import Settings
from dentalcare.db.pool import Database
from dentalcare.dentists.endpoints import router as dentists_router
from dentalcare.error_handlers import install_handlers
from dentalcare.health.endpoints import router as health_router
from dentalcare.holds.endpoints import router as holds_router
from dentalcare.holds.service import HoldSweeper
from dentalcare.links import service as links
from dentalcare.messages.endpoints import router as messages_router
from dentalcare.metrics.endpoints import router as metrics_router
from dentalcare.metrics.instruments import Metrics, MetricsMiddleware
from dentalcare.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from dentalcare.outbox.worker import workers_from_settings
from dentalcare.patients.endpoints import router as patients_router
from dentalcare.ratelimit import ChatLimiters, LoginLimiter, RateLimiter
from dentalcare.realtime.endpoints import router as realtime_router
from dentalcare.realtime.service import RealtimeService
from dentalcare.reports.endpoints import router as reports_router
from dentalcare.staff.endpoints import router as staff_router
from dentalcare.treatments.endpoints import router as treatments_router
from dentalcare.waitlist.endpoints import recalls_router, stats_router
from dentalcare.waitlist.endpoints import router as waitlist_router
from dentalcare.waitlist.offers import RecallSender, WaitlistOfferer
from dentalcare.web import install as install_web

log = logging.getLogger(__name__)

# At shutdown: how long the realtime service and then the pool may take to close cleanly.
STOP_GRACE_SECONDS = 2.0


def create_app(settings: Settings, *, database_url: str, clock: Clock | None = None) -> FastAPI:
    """Build the application for `settings`, working on the database at `database_url`,
    on `clock` (the system clock unless a test brings its own)."""
    clock = clock or SystemClock()
    links.configure(settings.jwt_secret)  # appointment links are signed with its key

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await Database.open(
            database_url,
            app_role=settings.app_db_role,
            app_password=settings.app_password,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            acquire_timeout=settings.db_acquire_timeout_seconds,
        )
        app.state.db = db
        realtime = RealtimeService(settings=settings, db=db, clock=clock)
        app.state.realtime = realtime
        # Kept true by the listener (every process's changes) and by this process's own
        # commits; caches only while the listener listens (availability/cache.py).
        slots_cache = SlotsCache(
            max_age=timedelta(seconds=settings.slots_cache_seconds),
            min_notice=timedelta(minutes=settings.min_notice_minutes),
        )
        db.after_commit.append(slots_cache.committed)
        realtime.listener.observers.append(slots_cache)
        slots_cache.attach(lambda: realtime.listener.healthy)
        app.state.slots_cache = slots_cache
        chat_retention = ChatRetention(
            unit_of_work=db.unit_of_work,
            idle=timedelta(days=settings.chat_retention_days),
            interval=settings.chat_retention_interval_seconds,
        )
        hold_sweeper = HoldSweeper(
            unit_of_work=db.unit_of_work,
            clock=clock,
            interval=settings.hold_sweep_interval_seconds,
        )
        app.state.hold_sweeper = hold_sweeper
        metrics: Metrics = app.state.metrics
        outbox_workers = workers_from_settings(
            settings, db.unit_of_work, busy=lambda: metrics.requests_in_flight > 0
        )
        app.state.outbox_workers = outbox_workers
        waitlist_offerer = WaitlistOfferer(
            unit_of_work=db.unit_of_work,
            settings=settings,
            clock=clock,
            interval=settings.waitlist_interval_seconds,
        )
        recall_sender = RecallSender(
            unit_of_work=db.unit_of_work, clock=clock, interval=settings.recall_interval_seconds
        )
        app.state.waitlist_offerer = waitlist_offerer
        app.state.recall_sender = recall_sender
        try:
            await realtime.start()
            chat_retention.start()
            hold_sweeper.start()
            for worker in outbox_workers:
                worker.start()
            waitlist_offerer.start()
            recall_sender.start()
            yield
        finally:
            await recall_sender.stop()
            await waitlist_offerer.stop()
            for worker in outbox_workers:
                await worker.stop()
            await hold_sweeper.stop()
            await chat_retention.stop()
            try:
                async with asyncio.timeout(STOP_GRACE_SECONDS):
                    await realtime.stop()
            except TimeoutError:
                log.warning("the realtime service did not stop within %s s", STOP_GRACE_SECONDS)
            await db.close(grace_seconds=STOP_GRACE_SECONDS)

    app = FastAPI(
        title="DentalCareConnect",
        version=__version__,
        description="Booking for dental clinics, in sync in real time.",
        lifespan=lifespan,
        # /docs is served by web.pages.api_docs from vendored files (no CDN); no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.login_limiter = LoginLimiter(
        limit=settings.login_attempts_per_minute,
        enabled=settings.rate_limits_enabled,
        clock=clock.monotonic,
    )
    app.state.password_hashing = PasswordHashing(
        limit=settings.password_hash_concurrency,
        wait_seconds=settings.password_hash_wait_seconds,
    )
    # Chat turns may use at most half the pool: the rest stays for bookings and pages.
    app.state.chat_turns = TurnLimiter(limit=settings.db_pool_max_size // 2)
    app.state.chat_limiters = ChatLimiters.from_settings(settings, clock=clock.monotonic)
    app.state.booking_limiter = RateLimiter(
        limit=settings.bookings_per_minute,
        what="bookings",
        enabled=settings.rate_limits_enabled,
        clock=clock.monotonic,
    )
    app.state.hold_limiter = RateLimiter(
        limit=settings.holds_per_minute,
        what="held times",
        enabled=settings.rate_limits_enabled,
        clock=clock.monotonic,
    )
    app.state.lookup_limiter = RateLimiter(
        limit=settings.lookups_per_minute,
        what="booking look-ups",
        enabled=settings.rate_limits_enabled,
        clock=clock.monotonic,
    )
    app.state.account_mail_limits = AccountMailLimits.from_settings(settings, clock=clock.monotonic)
    install_handlers(app)
    app.state.metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.cookie_secure)
    app.include_router(health_router)
    app.include_router(realtime_router)
    app.include_router(auth_router)
    app.include_router(dentists_router)
    app.include_router(dentist_slots_router)
    app.include_router(availability_router)
    app.include_router(appointments_router)
    app.include_router(holds_router)
    app.include_router(treatments_router)
    app.include_router(clinic_router)
    app.include_router(chairs_router)
    app.include_router(chat_router)
    app.include_router(messages_router)
    app.include_router(accounts_router)
    app.include_router(waitlist_router)
    app.include_router(recalls_router)
    app.include_router(staff_router)
    app.include_router(audit_router)
    app.include_router(patients_router)
    app.include_router(reports_router)
    app.include_router(metrics_router)
    app.include_router(stats_router)
    install_web(app)
    return app


def app_from_env() -> FastAPI:
    """The application for a worker process started by `dentalcare serve --workers N`.

    The parent process has already migrated the database and put its URL (the embedded
    server's, if that is what runs) in DENTALCARE_DATABASE_URL.
    """
    settings = Settings()
    if not settings.database_url:
        raise RuntimeError("DENTALCARE_DATABASE_URL must be set for worker processes")
    return create_app(settings, database_url=settings.database_url)
