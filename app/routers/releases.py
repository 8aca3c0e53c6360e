"""Releases and their work flow (API.md, Releases; RULES §4), and organs' flows (Art. 27)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import pagination
from app.auth import Principal
from app.deps import IdempotencyKey, PrincipalDep, RuntimeDep, release_context, require
from app.models.releases import Release
from app.rules.releases import STATUSES, STEP_ROLES, FlowStep, ReleaseKind, StepKind
from app.runtime import Runtime
from app.schemas.releases import FlowSet, Note, Reason, ReleaseCreate, ReleaseEdit, Review
from app.workflows import releases as flow

router = APIRouter(prefix="/api/v1", tags=["releases"])


def _roles(step: StepKind) -> Any:
    # The roles any organ's flow may name at this step; the release's own flow narrows it.
    return Depends(require(*sorted(STEP_ROLES[step])))


Drafter = Annotated[Principal, Depends(require("drafter"))]
Submitter = Annotated[Principal, _roles(StepKind.submit)]
Reviewer = Annotated[Principal, _roles(StepKind.review)]
Approver = Annotated[Principal, _roles(StepKind.approve)]
CoSigner = Annotated[Principal, _roles(StepKind.cosign)]
Publisher = Annotated[Principal, _roles(StepKind.publish)]
Actor = Annotated[Principal, Depends(require("drafter", "reviewer", "approver", "info_office"))]
Admin = Annotated[Principal, Depends(require("admin"))]


async def _act(
    rt: Runtime, actor: Principal, act: Callable[[AsyncSession, flow.Context], Awaitable[Release]]
) -> dict[str, Any]:
    """One act on a release in one transaction, answered with the release as it now stands."""
    async with rt.db.write() as session:
        release = await act(session, release_context(rt, actor))
        return await flow.view_one(session, release)


async def _draft(
    rt: Runtime,
    actor: Principal,
    body: ReleaseCreate,
    response: Response,
    incident_id: str | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    async with rt.db.write() as session:
        release, created = await flow.create(
            session,
            body,
            release_context(rt, actor),
            incident_id=incident_id,
            idempotency_key=idempotency_key,
        )
        view = await flow.view_one(session, release)
    if not created:
        response.status_code = 200
    return view


@router.post("/incidents/{incident_id}/releases", status_code=201)
async def draft_on_incident(
    incident_id: str,
    body: ReleaseCreate,
    rt: RuntimeDep,
    actor: Drafter,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return await _draft(rt, actor, body, response, incident_id, idempotency_key)


@router.post("/releases", status_code=201)
async def draft(
    body: ReleaseCreate,
    rt: RuntimeDep,
    actor: Drafter,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return await _draft(rt, actor, body, response, None, idempotency_key)


@router.patch("/releases/{release_id}")
async def edit(
    release_id: str, body: ReleaseEdit, rt: RuntimeDep, actor: Drafter
) -> dict[str, Any]:
    return await _act(rt, actor, lambda s, ctx: flow.edit(s, release_id, body, ctx))


@router.post("/releases/{release_id}/submit")
async def submit(release_id: str, rt: RuntimeDep, actor: Submitter) -> dict[str, Any]:
    return await _act(rt, actor, lambda s, ctx: flow.submit(s, release_id, ctx))


@router.post("/releases/{release_id}/review")
async def review(release_id: str, body: Review, rt: RuntimeDep, actor: Reviewer) -> dict[str, Any]:
    passed, note = body.passed, body.note
    return await _act(
        rt, actor, lambda s, ctx: flow.review(s, release_id, ctx, passed=passed, note=note)
    )


@router.post("/releases/{release_id}/approve")
async def approve(
    release_id: str,
    rt: RuntimeDep,
    actor: Approver,
    body: Annotated[Note | None, Body()] = None,
) -> dict[str, Any]:
    note = body.note if body else ""
    return await _act(rt, actor, lambda s, ctx: flow.approve(s, release_id, ctx, note=note))


@router.post("/releases/{release_id}/cosign")
async def cosign(
    release_id: str,
    rt: RuntimeDep,
    actor: CoSigner,
    body: Annotated[Note | None, Body()] = None,
) -> dict[str, Any]:
    note = body.note if body else ""
    return await _act(rt, actor, lambda s, ctx: flow.cosign(s, release_id, ctx, note=note))


@router.post("/releases/{release_id}/reject")
async def reject(release_id: str, body: Reason, rt: RuntimeDep, actor: Actor) -> dict[str, Any]:
    return await _act(rt, actor, lambda s, ctx: flow.reject(s, release_id, body.reason, ctx))


@router.post("/releases/{release_id}/publish")
async def publish(release_id: str, rt: RuntimeDep, actor: Publisher) -> dict[str, Any]:
    return await _act(rt, actor, lambda s, ctx: flow.publish(s, release_id, ctx))


@router.post("/releases/{release_id}/retract")
async def retract(
    release_id: str,
    body: Reason,
    rt: RuntimeDep,
    actor: Annotated[Principal, Depends(require("drafter", "approver", "info_office"))],
    response: Response,
) -> dict[str, Any]:
    """A publication: drafts a retraction that replaces it (201). A release not yet
    published: withdraws it (200)."""
    async with rt.db.write() as session:
        release, created = await flow.retract(
            session, release_id, body.reason, release_context(rt, actor)
        )
        view = await flow.view_one(session, release)
    response.status_code = 201 if created else 200
    return view


@router.get("/releases")
async def list_releases(
    rt: RuntimeDep,
    actor: PrincipalDep,
    incident: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$")] = None,
    kind: ReleaseKind | None = None,
    org: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    stmt = select(Release).where(flow.visible_clause(actor))
    if incident:
        stmt = stmt.where(Release.incident_id == incident)
    if status:
        stmt = stmt.where(Release.status == status)
    if kind:
        stmt = stmt.where(Release.kind == kind.value)
    if org:
        stmt = stmt.where(Release.org_id == org)
    stmt = pagination.keyset(
        stmt, cursor, Release.created_at, Release.id, limit=limit, descending=True
    )
    async with rt.db.read() as session:
        page, next_cursor = pagination.cut(
            (await session.execute(stmt)).scalars().all(), limit, "created_at"
        )
        items = await flow.views(session, page)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/releases/{release_id}")
async def get_release(release_id: str, rt: RuntimeDep, actor: PrincipalDep) -> dict[str, Any]:
    async with rt.db.read() as session:
        release = await flow.get_visible(session, release_id, actor)
        return await flow.view_one(session, release)


@router.get("/orgs/{org_id}/release-flow")
async def get_release_flow(org_id: str, rt: RuntimeDep, actor: PrincipalDep) -> dict[str, Any]:
    async with rt.db.read() as session:
        return await flow.get_flow(session, org_id, actor)


@router.put("/orgs/{org_id}/release-flow")
async def set_release_flow(
    org_id: str, body: FlowSet, rt: RuntimeDep, actor: Admin
) -> dict[str, Any]:
    steps = [FlowStep(s.step, s.role.value, s.co_signers) for s in body.steps]
    async with rt.db.write() as session:
        return await flow.set_flow(session, org_id, steps, release_context(rt, actor))
