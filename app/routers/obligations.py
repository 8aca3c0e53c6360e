"""Obligations with their clocks (RULES §3), within the caller's jurisdiction."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import or_, select
from sqlalchemy.sql.elements import ColumnElement

from app import directory, pagination
from app.auth import Principal
from app.deps import PrincipalDep, RuntimeDep, require
from app.errors import not_found
from app.models import Incident, IncidentDivision, Obligation
from app.rules.obligations import ObligationKind
from app.runtime import Runtime
from app.schemas.base import Moment
from app.schemas.obligations import MediaSupervisionMatter, OwnItem, RegularInfoItem
from app.workflows import obligations as flow

router = APIRouter(prefix="/api/v1", tags=["obligations"])

Status = Literal["pending", "met", "breached", "cancelled"]


def visible(actor: Principal) -> ColumnElement[bool]:
    """RULES §6: what the caller's organ may see.

    Its own obligations, those placed in its jurisdiction, and those of any incident that
    touches its jurisdiction (an incident over several divisions stores its first only).
    """
    in_jurisdiction = select(IncidentDivision.incident_id).where(
        IncidentDivision.division_code.in_(actor.jurisdiction)
    )
    involved = select(Incident.id).where(
        or_(
            Incident.on_site_command_id == actor.org_id, Incident.responsible_org_id == actor.org_id
        )
    )
    return or_(
        Obligation.org_id == actor.org_id,
        Obligation.division_code.in_(actor.jurisdiction),
        Obligation.incident_id.in_(in_jurisdiction),
        Obligation.incident_id.in_(involved),
    )


@router.get("/obligations")
async def list_obligations(
    rt: RuntimeDep,
    actor: PrincipalDep,
    org: Annotated[str | None, Query(max_length=64)] = None,
    status: Status | None = None,
    kind: ObligationKind | None = None,
    due_before: Moment | None = None,
    incident: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Soonest due first; `org` is an organ id or a division code (its government)."""
    stmt = select(Obligation).where(visible(actor))
    if org:
        stmt = stmt.where(Obligation.org_id == directory.resolve_org_argument(org))
    if status:
        stmt = stmt.where(Obligation.status == status)
    if kind:
        stmt = stmt.where(Obligation.kind == kind.value)
    if due_before is not None:
        stmt = stmt.where(Obligation.due_at < due_before)
    if incident:
        stmt = stmt.where(Obligation.incident_id == incident)
    stmt = pagination.keyset(
        stmt, cursor, Obligation.due_at, Obligation.id, limit=limit, descending=False
    )
    async with rt.db.read() as session:
        page, next_cursor = pagination.cut(
            (await session.execute(stmt)).scalars().all(), limit, "due_at"
        )
    now = rt.clock.now()
    return {"items": [flow.view(o, now) for o in page], "next_cursor": next_cursor}


@router.get("/obligations/{obligation_id}")
async def get_obligation(obligation_id: str, rt: RuntimeDep, actor: PrincipalDep) -> dict[str, Any]:
    async with rt.db.read() as session:
        row = (
            await session.execute(
                select(Obligation).where(Obligation.id == obligation_id, visible(actor))
            )
        ).scalar_one_or_none()
    if row is None:
        raise not_found("obligation")
    return flow.view(row, rt.clock.now())


# -- Art. 20 items an organ registers itself ---------------------------------------------------
# API.md names no trigger for these two rows of RULES §3; they sit beside /obligations.

Reviewer = Annotated[Principal, Depends(require("reviewer", "approver", "info_office"))]
Registrar = Annotated[Principal, Depends(require("reporter", "approver", "info_office"))]


async def _register(
    rt: Runtime, response: Response, actor: Principal, item: OwnItem
) -> dict[str, Any]:
    now = rt.clock.now()
    async with rt.db.write() as session:
        row, opened = await flow.register_own_item(session, item, actor.org_id, at=now)
    if not opened:
        response.status_code = 200
    return flow.view(row, now)


@router.post("/obligations/regular-info", status_code=201)
async def register_regular_info(
    body: RegularInfoItem, rt: RuntimeDep, actor: Reviewer, response: Response
) -> dict[str, Any]:
    """Art. 20: published within 5 working days of review; met by a `regular_info` release
    of the same organ naming this `subject_id`. 201 opened, 200 the same facts again."""
    return await _register(rt, response, actor, body)


@router.post("/obligations/media-supervision", status_code=201)
async def register_media_supervision(
    body: MediaSupervisionMatter, rt: RuntimeDep, actor: Registrar, response: Response
) -> dict[str, Any]:
    """Art. 20: the investigation result within 5 working days (configurable); met by a
    `media_supervision_response` release of the same organ naming this `subject_id`."""
    return await _register(rt, response, actor, body)
