"""The FastAPI application; its lifespan owns the database, MQTT link and ingest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from server.alerts.system import EngineFactory
from server.api import api_router
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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Migrations and connecting are blocking: keep them off the event loop.
        runtime = await run_in_threadpool(start_runtime, settings, engine_factory)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await run_in_threadpool(runtime.close)

    app = FastAPI(
        title="dorm-iot server",
        version="1",
        summary="Dormitory gates, kiosks and room sensors: ingest, domain, reports.",
        lifespan=lifespan,
    )
    app.include_router(api_router)
    return app
