"""The application factory: one runtime, its routers and its background services."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from app import desk, errors, openapi, sqlite_checkpoint
from app.clock import Clock, SystemClock
from app.config import Settings, get_settings
from app.db import Database
from app.events import hub
from app.limits import BodyLimit
from app.publishing import worker
from app.routers import (
    conferences,
    dashboard,
    directory,
    events,
    health,
    incidents,
    live,
    obligations,
    public,
    releases,
    reports,
    spokespersons,
    tokens,
    warnings,
    webhooks,
)
from app.rules.obligations import windows_from_config
from app.runtime import Runtime
from app.scheduler import service as scheduler
from app.services import Service
from app.workflows import obligations as obligations_wf

log = logging.getLogger("fabu")

# Allocations before a young-generation collection (CPython's default is 700).
GC_YOUNG_THRESHOLD = 20_000

# Started in this order, stopped in reverse: the hub first so it hears everything after.
SERVICE_FACTORIES: list[Callable[[Runtime], Service | None]] = [
    sqlite_checkpoint.factory,
    hub.factory,
    scheduler.factory,
    worker.factory,
]


class Fabu(FastAPI):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[live.RAW_SEND] = send  # see app.routers.live.RAW_SEND
        await super().__call__(scope, receive, send)


def _settle_garbage_collector() -> None:
    """Keep full collections short once the service has started.

    Everything built at start-up (routes, mappers, the directory, compiled queries) lives
    as long as the process; frozen, the collector stops rescanning it. A request allocates
    many short-lived objects (ORM rows, dicts), so the youngest generation is allowed to
    grow larger before a collection. Measured on intake: p99 from about 150 ms to 75 ms.
    """
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    db: Database | None = None,
    start_services: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    runtime = Runtime(
        settings=settings, db=db or Database(settings.database_url), clock=clock or SystemClock()
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        started = []
        if start_services:
            for factory in SERVICE_FACTORIES:
                service = factory(runtime)
                if service is None:
                    continue
                await service.start()
                runtime.services[service.name] = service
                started.append(service)
            _settle_garbage_collector()
        try:
            yield
        finally:
            for service in reversed(started):
                await service.stop()
            if db is None:
                await runtime.db.dispose()

    app = Fabu(
        title="Fabu",
        summary="Emergency information release under the Guizhou Press Release Working Measures",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    # A process-wide setting: assigned on every app so none inherits an earlier app's windows.
    obligations_wf.windows = windows_from_config(settings.obligation_windows)
    errors.install(app)
    for module in (
        health,
        tokens,
        directory,
        incidents,
        obligations,
        releases,
        events,
        live,
        dashboard,
        webhooks,
        conferences,
        warnings,
        spokespersons,
        reports,
        public,
    ):
        app.include_router(module.router)
    desk.install(app)
    app.mount("/static", StaticFiles(directory=dashboard.STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    openapi.customise(app)
    return app
