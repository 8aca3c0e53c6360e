"""Liveness, readiness and metrics."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from app import metrics
from app.deps import RuntimeDep
from app.errors import not_found

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(rt: RuntimeDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    ok = True
    try:
        async with rt.db.read() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports any failure rather than raising it
        checks["database"] = f"unreachable: {type(exc).__name__}"
        ok = False
    # Each background service of this instance reports itself: scheduler, hub, webhooks.
    for name, service in rt.services.items():
        report = getattr(service, "health", None)
        if report is None:
            continue
        status = report()
        if inspect.isawaitable(status):
            status = await status
        checks[name] = status
        ok = ok and bool(status.get("ok"))
    return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus() -> str:
    return metrics.render()


@router.post("/api/v1/_noop", include_in_schema=False)
async def bench_noop(rt: RuntimeDep, body: dict[str, Any] = Body(...)) -> dict[str, bool]:
    """The same JSON round trip as a create, minus the work: the benchmarks' baseline."""
    if not rt.settings.bench_noop:
        raise not_found()
    return {"ok": True}
