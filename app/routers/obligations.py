"""Obligations with their clocks (RULES §3), within the caller's jurisdiction."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime, Field
from sqlalchemy import or_, select
from sqlalchemy.sql.elements import ColumnElement

from app import directory, pagination
from app.auth import Principal
from app.deps import PrincipalDep, RuntimeDep, require
from app.errors import invalid, not_found
from app.models import Incident, IncidentDivision, Obligation
from app.rules.obligations import ObligationKind
from app.runtime import Runtime
from app.schemas.incidents import Strict
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
    due_before: datetime | None = None,
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
        if due_before.tzinfo is None:
            raise invalid("due_before", "needs a UTC offset, e.g. 2026-10-13T16:00:00Z")
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


class RegularInfoItem(Strict):
    """An item of regular government information that has passed production and review."""

    subject_id: str = Field(min_length=1, max_length=40)
    reviewed_at: AwareDatetime | None = None  # default: now


class MediaSupervisionMatter(Strict):
    """A matter raised by media supervision, registered by the organ that must answer it."""

    subject_id: str = Field(min_length=1, max_length=40)
    registered_at: AwareDatetime | None = None  # default: now


Reviewer = Annotated[Principal, Depends(require("reviewer", "approver", "info_office"))]
Registrar = Annotated[Principal, Depends(require("reporter", "approver", "info_office"))]


async def _register(
    rt: Runtime,
    response: Response,
    actor: Principal,
    kind: ObligationKind,
    subject_id: str,
    at: datetime | None,
    field: str,
) -> dict[str, Any]:
    """Open the organ's obligation about its own item; the same facts again open nothing
    (200 with the one already there), a corrected time moves its due time."""
    now = rt.clock.now()
    when = now if at is None else at
    if when > now:
        raise invalid(field, "lies in the future; give the time it happened", article="Art. 20")
    async with rt.db.write() as session:
        existed = await flow.find_for_subject(
            session, kind, subject_type=kind.value, subject_id=subject_id, org_id=actor.org_id
        )
        if kind == ObligationKind.regular_info:
            row = await flow.open_regular_info(
                session, actor.org_id, when, subject_id=subject_id, at=now
            )
        else:
            row = await flow.open_media_supervision(
                session, actor.org_id, when, subject_id=subject_id, at=now
            )
        if existed is not None:
            response.status_code = 200
        return flow.view(row, now)


@router.post("/obligations/regular-info", status_code=201)
async def register_regular_info(
    body: RegularInfoItem, rt: RuntimeDep, actor: Reviewer, response: Response
) -> dict[str, Any]:
    """Art. 20: published within 5 working days of review; met by a `regular_info` release
    of the same organ naming this `subject_id`."""
    return await _register(
        rt,
        response,
        actor,
        ObligationKind.regular_info,
        body.subject_id,
        body.reviewed_at,
        "reviewed_at",
    )


@router.post("/obligations/media-supervision", status_code=201)
async def register_media_supervision(
    body: MediaSupervisionMatter, rt: RuntimeDep, actor: Registrar, response: Response
) -> dict[str, Any]:
    """Art. 20: the investigation result within 5 working days (configurable); met by a
    `media_supervision_response` release of the same organ naming this `subject_id`."""
    return await _register(
        rt,
        response,
        actor,
        ObligationKind.media_supervision,
        body.subject_id,
        body.registered_at,
        "registered_at",
    )
