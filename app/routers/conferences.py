"""Press conferences (Art. 28-35): schedule, approve, materials, file, hold, evaluate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency
from app.auth import Principal
from app.deps import IdempotencyKey, PrincipalDep, RuntimeDep, context, require
from app.models.conferences import PressConference
from app.runtime import Runtime
from app.schemas.conferences import (
    ConferenceApproval,
    ConferenceCreate,
    ConferenceEvaluation,
    ConferenceHold,
    MaterialCreate,
)
from app.workflows import conferences as flow
from app.workflows.incidents import Context

router = APIRouter(prefix="/api/v1", tags=["press conferences"])

Organiser = Annotated[Principal, Depends(require("drafter", "approver", "info_office"))]
Approver = Annotated[Principal, Depends(require("approver"))]

BASE = "/press-conferences"


@router.post(BASE, status_code=201)
async def schedule(
    body: ConferenceCreate,
    rt: RuntimeDep,
    actor: Organiser,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    scope = f"press-conferences:{actor.org_id}"
    async with rt.db.write() as session:
        conference, created = await idempotency.replay_or_make(
            session,
            idempotency_key,
            scope,
            body,
            find=lambda prior: flow.get_visible_conference(session, prior, actor),
            make=lambda: flow.schedule(session, body, context(rt, actor)),
            clock=rt.clock,
        )
        if not created:
            response.status_code = 200
        return await flow.conference_view(session, conference, rt.clock.now())


@router.get(BASE)
async def listing(
    rt: RuntimeDep,
    actor: PrincipalDep,
    org: Annotated[str | None, Query(max_length=64)] = None,
    incident: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(pattern="^(scheduled|held|evaluated)$")] = None,
) -> dict[str, Any]:
    async with rt.db.read() as session:
        rows = await flow.listing(session, actor, org_id=org, incident_id=incident, status=status)
        return {"items": await flow.conference_views(session, rows, rt.clock.now())}


@router.get(BASE + "/{conference_id}")
async def get_one(conference_id: str, rt: RuntimeDep, actor: PrincipalDep) -> dict[str, Any]:
    async with rt.db.read() as session:
        conference = await flow.get_visible_conference(session, conference_id, actor)
        return await flow.conference_view(session, conference, rt.clock.now())


async def _step(
    rt: Runtime,
    actor: Principal,
    step: Callable[[AsyncSession, Context], Awaitable[PressConference]],
) -> dict[str, Any]:
    """One step of the conference's life, in its own transaction, answered with the result."""
    async with rt.db.write() as session:
        conference = await step(session, context(rt, actor))
        return await flow.conference_view(session, conference, rt.clock.now())


@router.post(BASE + "/{conference_id}/approve")
async def approve(
    conference_id: str, body: ConferenceApproval, rt: RuntimeDep, actor: Approver
) -> dict[str, Any]:
    return await _step(rt, actor, lambda s, ctx: flow.approve(s, conference_id, body, ctx))


@router.post(BASE + "/{conference_id}/materials", status_code=201)
async def add_material(
    conference_id: str, body: MaterialCreate, rt: RuntimeDep, actor: Organiser
) -> dict[str, Any]:
    return await _step(rt, actor, lambda s, ctx: flow.add_material(s, conference_id, body, ctx))


@router.post(BASE + "/{conference_id}/file")
async def file(conference_id: str, rt: RuntimeDep, actor: Organiser) -> dict[str, Any]:
    return await _step(rt, actor, lambda s, ctx: flow.file(s, conference_id, ctx))


@router.post(BASE + "/{conference_id}/hold")
async def hold(
    conference_id: str, rt: RuntimeDep, actor: Organiser, body: ConferenceHold | None = None
) -> dict[str, Any]:
    held = body or ConferenceHold()
    return await _step(rt, actor, lambda s, ctx: flow.hold(s, conference_id, held, ctx))


@router.post(BASE + "/{conference_id}/evaluate")
async def evaluate(
    conference_id: str, body: ConferenceEvaluation, rt: RuntimeDep, actor: Organiser
) -> dict[str, Any]:
    return await _step(rt, actor, lambda s, ctx: flow.evaluate(s, conference_id, body, ctx))
