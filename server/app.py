"""The FastAPI application; its lifespan owns the database, MQTT link and ingest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from server import logredact
from server.alerts.system import EngineFactory
from server.api import api_router
from server.api.login_throttle import LoginThrottle
from server.api.middleware import SecurityHeadersMiddleware
from server.audit.middleware import AuditMiddleware
from server.dashboard import mount_dashboard
from server.retention import RetentionPolicy, RetentionWorker
from server.runtime import start_runtime
from server.settings import Settings


def create_app(
    settings: Settings | None = None, engine_factory: EngineFactory | None = None
) -> FastAPI:
    """The server application; ``settings`` default to the ``DORM_*`` environment.

    ``engine_factory`` builds the rules engine that runs inside ingest (none: alerts
    come only from what is already stored; the service, API and escalation still run).
    """
    settings = settings if settings is not None else Settings()
    logredact.install(
        [settings.secret_key, settings.card_hash_key, settings.mqtt_password, settings.influx_token]
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Migrations and connecting are blocking: keep them off the event loop.
        runtime = await run_in_threadpool(start_runtime, settings, engine_factory)
        app.state.runtime = runtime
        retention: RetentionWorker | None = None
        if settings.retention_interval_s > 0:
            retention = RetentionWorker(
                runtime.sessions,
                RetentionPolicy.from_settings(settings),
                settings.retention_interval_s,
            )
            retention.start()
        app.state.retention = retention
        try:
            yield
        finally:
            if retention is not None:
                await run_in_threadpool(retention.stop)
            await run_in_threadpool(runtime.close)

    app = FastAPI(
        title="dorm-iot server",
        version="1",
        summary="Dormitory gates, kiosks and room sensors: ingest, domain, reports.",
        lifespan=lifespan,
    )
    app.state.login_throttle = LoginThrottle(
        attempts_per_window=settings.login_attempts_per_window,
        max_failures=settings.login_max_failures,
        window_s=settings.login_window_s,
        lockout_s=settings.login_lockout_s,
    )
    app.include_router(api_router)
    # Added last, runs first: the headers go on every response, audited ones included.
    app.add_middleware(AuditMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    mount_dashboard(app)
    return app
