"""Incidents: intake, situation reports, command, escalation, classification, close."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import directory, pagination
from app.auth import Principal
from app.clock import iso
from app.deps import IdempotencyKey, PrincipalDep, RuntimeDep, context, require
from app.events.log import to_wire
from app.models import AuditEntry, Event, Incident, IncidentDivision
from app.rules.levels import Category, Level
from app.runtime import Runtime
from app.schemas.base import Moment
from app.schemas.incidents import (
    ClassificationOverride,
    CommandAction,
    IncidentCreate,
    Reason,
    SituationReportCreate,
)
from app.views import incident_full, incidents_page
from app.workflows import incidents as flow

router = APIRouter(prefix="/api/v1", tags=["incidents"])

Reporter = Annotated[Principal, Depends(require("reporter"))]
Overseer = Annotated[Principal, Depends(require("info_office"))]
Classifier = Annotated[Principal, Depends(require("approver", "info_office"))]
Closer = Annotated[Principal, Depends(require("reporter", "approver", "info_office"))]


@router.post("/incidents", status_code=201)
async def create_incident(
    body: IncidentCreate,
    rt: RuntimeDep,
    actor: Reporter,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    ctx = context(rt, actor)
    checked = flow.check(body, ctx)  # 422s before queueing for the write

    async def store(session: AsyncSession) -> tuple[dict[str, Any], bool]:
        intake = await flow.store(session, checked, ctx, idempotency_key=idempotency_key)
        view = await incident_full(
            session, intake.incident, rt.clock.now(), obligations=intake.obligations
        )
        return view, intake.created

    try:
        view, created = await rt.db.write_together(store)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # The same key arrived twice at once and the other request committed first (on
        # PostgreSQL both ran side by side): now its key is visible, so this one replays it.
        view, created = await rt.db.write_together(store)
    if not created:
        response.status_code = 200
    return view


@router.get("/incidents")
async def list_incidents(
    rt: RuntimeDep,
    actor: PrincipalDep,
    status: Annotated[str | None, Query(pattern="^(active|closed)$")] = None,
    level: Level | None = None,
    category: Category | None = None,
    division: Annotated[str | None, Query(max_length=12)] = None,
    since: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    visible = select(IncidentDivision.incident_id).where(
        IncidentDivision.division_code.in_(actor.jurisdiction)
    )
    stmt = select(Incident).where(
        or_(Incident.id.in_(visible), Incident.responsible_org_id == actor.org_id)
    )
    if status:
        stmt = stmt.where(Incident.status == status)
    if level:
        stmt = stmt.where(Incident.level == level.value)
    if category:
        stmt = stmt.where(Incident.category == category.value)
    if division:
        directory.check_division(division, "division")
        # A division stands for itself and every division below it (a prefecture: its counties).
        codes = directory.tree().descendants(division)
        stmt = stmt.where(
            Incident.id.in_(
                select(IncidentDivision.incident_id).where(
                    IncidentDivision.division_code.in_(codes)
                )
            )
        )
    if since:
        stmt = stmt.where(Incident.created_at >= since)
    stmt = pagination.keyset(
        stmt, cursor, Incident.created_at, Incident.id, limit=limit, descending=True
    )
    async with rt.db.read() as session:
        page, next_cursor = pagination.cut(
            (await session.execute(stmt)).scalars().all(), limit, "created_at"
        )
        items = await incidents_page(session, page, rt.clock.now())
    return {"items": items, "next_cursor": next_cursor}


@router.get("/incidents/{incident_id}")
async def get_incident(incident_id: str, rt: RuntimeDep, actor: PrincipalDep) -> dict[str, Any]:
    async with rt.db.read() as session:
        incident = await flow.get_visible(session, incident_id, actor)
        return await incident_full(session, incident, rt.clock.now())


async def _change(
    rt: Runtime, step: Callable[[AsyncSession], Awaitable[Incident]]
) -> dict[str, Any]:
    """One step of the lifecycle in its own unit of work, answered with the incident."""
    async with rt.db.write() as session:
        incident = await step(session)
        return await incident_full(session, incident, rt.clock.now())


@router.post("/incidents/{incident_id}/reports")
async def add_report(
    incident_id: str, body: SituationReportCreate, rt: RuntimeDep, actor: Reporter
) -> dict[str, Any]:
    ctx = context(rt, actor)
    return await _change(rt, lambda session: flow.add_report(session, incident_id, body, ctx))


@router.post("/incidents/{incident_id}/command")
async def command(
    incident_id: str, body: CommandAction, rt: RuntimeDep, actor: Closer
) -> dict[str, Any]:
    ctx = context(rt, actor)
    return await _change(rt, lambda session: flow.command(session, incident_id, body, ctx))


@router.post("/incidents/{incident_id}/escalation")
async def escalate(
    incident_id: str, body: Reason, rt: RuntimeDep, actor: Overseer
) -> dict[str, Any]:
    ctx = context(rt, actor)
    return await _change(rt, lambda session: flow.escalate(session, incident_id, body.reason, ctx))


@router.post("/incidents/{incident_id}/classification")
async def classify(
    incident_id: str, body: ClassificationOverride, rt: RuntimeDep, actor: Classifier
) -> dict[str, Any]:
    ctx = context(rt, actor)
    return await _change(
        rt, lambda session: flow.override_classification(session, incident_id, body, ctx)
    )


@router.post("/incidents/{incident_id}/close")
async def close(incident_id: str, body: Reason, rt: RuntimeDep, actor: Closer) -> dict[str, Any]:
    ctx = context(rt, actor)
    return await _change(rt, lambda session: flow.close(session, incident_id, body.reason, ctx))


@router.get("/incidents/{incident_id}/timeline")
async def timeline(incident_id: str, rt: RuntimeDep, actor: PrincipalDep) -> dict[str, Any]:
    """Events and audit entries of one incident, in the order they happened."""
    async with rt.db.read() as session:
        await flow.get_visible(session, incident_id, actor)
        events = (
            await session.execute(
                select(Event).where(Event.incident_id == incident_id).order_by(Event.seq)
            )
        ).scalars()
        audits = (
            await session.execute(
                select(AuditEntry)
                .where(AuditEntry.incident_id == incident_id)
                .order_by(AuditEntry.at)
            )
        ).scalars()
        entries: list[dict[str, Any]] = [{"kind": "event", **to_wire(e)} for e in events]
        for a in audits:
            entries.append(
                {
                    "kind": "audit",
                    "seq": a.event_seq,
                    "at": iso(a.at),
                    "action": a.action,
                    "token_id": a.token_id,
                    "org_id": a.org_id,
                    "roles": a.roles,
                    "before": a.before,
                    "after": a.after,
                    "reason": a.reason,
                }
            )
    # Audit entries sit right after the event they were written with.
    entries.sort(
        key=lambda e: (e["seq"] if e["seq"] is not None else 1 << 62, e["kind"] != "event", e["at"])
    )
    return {"incident_id": incident_id, "entries": entries}
