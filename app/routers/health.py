"""Liveness, readiness and metrics."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from app import metrics
from app.auth import Principal
from app.deps import RuntimeDep, context, require
from app.errors import not_found
from app.schemas.incidents import IncidentCreate
from app.views import incident_view, load_orgs
from app.workflows import incidents

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


@router.post("/api/v1/_noop/incidents", include_in_schema=False)
async def bench_intake_without_database(
    body: IncidentCreate, rt: RuntimeDep, actor: Annotated[Principal, Depends(require("reporter"))]
) -> dict[str, Any]:
    """Everything an intake does except the database: authentication, validation,
    classification, routing, the incident and its answer. bench.intake measures it beside
    the no-op, to show how much of the budget is spent before a row is written."""
    if not rt.settings.bench_noop:
        raise not_found()
    ctx = context(rt, actor)
    now = rt.clock.now()
    incident = incidents.new_incident(incidents.check(body, ctx), ctx, now)
    routed = incidents.responsible_organs(incident)
    incident.responsible_org_id, incident.co_signer_ids = routed.org_id, routed.co_signer_ids
    incident.responsible_kind = routed.answer.kind.value
    async with rt.db.read() as session:  # organ names come from a cache: no query once warm
        orgs = await load_orgs(session, [routed.org_id, *routed.co_signer_ids])
    return incident_view(incident, orgs=orgs, obligations=[], now=now)
