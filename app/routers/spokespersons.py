"""Spokespersons and press assistants (Art. 7-9) and media interview requests (Art. 21)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency
from app.auth import Principal
from app.deps import IdempotencyKey, PrincipalDep, RuntimeDep, context, require
from app.idempotency import R
from app.models.people import InterviewRequest, Spokesperson
from app.routers.reports import Year, csv_response, wants
from app.runtime import Runtime
from app.schemas.people import (
    InterviewAccept,
    InterviewCreate,
    InterviewDecline,
    SpokespersonCreate,
    SpokespersonRemove,
)
from app.views import org_ref
from app.workflows import obligations
from app.workflows import people as flow

router = APIRouter(prefix="/api/v1", tags=["spokespersons and interviews"])

Personnel = Annotated[Principal, Depends(require("approver", "info_office", "admin"))]
PressOffice = Annotated[Principal, Depends(require("drafter", "approver", "info_office"))]
Decider = Annotated[Principal, Depends(require("approver", "info_office"))]
T = TypeVar("T")


async def _found(session: AsyncSession, model: type[T], ident: str) -> T:
    """A row a remembered Idempotency-Key names: it was written with the key, so it is there."""
    found = await session.get(model, ident)
    assert found is not None
    return found


async def _create(
    rt: Runtime,
    response: Response,
    key: str | None,
    scope: str,
    body: BaseModel,
    model: type[R],
    make: Callable[[AsyncSession], Awaitable[R]],
    view: Callable[[R], dict[str, Any]],
) -> dict[str, Any]:
    """A new row, or the one an earlier request with the same Idempotency-Key made."""
    async with rt.db.write() as session:
        row, created = await idempotency.replay_or_make(
            session,
            key,
            scope,
            body,
            find=lambda prior: _found(session, model, prior),
            make=lambda: make(session),
            clock=rt.clock,
        )
        if not created:
            response.status_code = 200
        return view(row)


@router.get("/spokespersons/annual-list", response_model=None)
async def annual_list(
    request: Request,
    rt: RuntimeDep,
    actor: PrincipalDep,
    year: Year,
    format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
) -> dict[str, Any] | Response:
    """Art. 9: the year's list of spokespersons and press assistants, organ by organ."""
    async with rt.db.read() as session:
        rows = await flow.annual_list(session, year, actor)
    lines = [flow.annual_list_row(org, person) for org, person in rows]
    if wants(request, "csv", format):
        return csv_response(flow.ANNUAL_LIST_COLUMNS, lines, f"spokespersons-{year}.csv")
    organs: dict[str, dict[str, Any]] = {}
    for org, person in rows:
        entry = organs.setdefault(
            org.id,
            {
                "org": org_ref(org),
                "division_code": org.division_code,
                "spokespersons": [],
                "press_assistants": [],
            },
        )
        key = "spokespersons" if person.role == "spokesperson" else "press_assistants"
        entry[key].append(flow.spokesperson_view(person))
    return {"year": year, "organs": list(organs.values())}


@router.get("/spokespersons")
async def listing(
    rt: RuntimeDep,
    actor: PrincipalDep,
    org: Annotated[str | None, Query(max_length=64)] = None,
    serving: bool = False,
) -> dict[str, Any]:
    async with rt.db.read() as session:
        rows = await flow.listing(session, actor, org_id=org, serving_only=serving)
    return {"items": [flow.spokesperson_view(person, org) for org, person in rows]}


@router.post("/spokespersons", status_code=201)
async def appoint(
    body: SpokespersonCreate,
    rt: RuntimeDep,
    actor: Personnel,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return await _create(
        rt,
        response,
        idempotency_key,
        f"spokespersons:{actor.org_id}",
        body,
        Spokesperson,
        lambda session: flow.appoint(session, body, context(rt, actor)),
        flow.spokesperson_view,
    )


@router.post("/spokespersons/{person_id}/remove")
async def remove(
    person_id: str, body: SpokespersonRemove, rt: RuntimeDep, actor: Personnel
) -> dict[str, Any]:
    async with rt.db.write() as session:
        person, obligation = await flow.remove(session, person_id, body, context(rt, actor))
        return {
            **flow.spokesperson_view(person),
            "obligation": obligations.view(obligation, rt.clock.now()),
        }


@router.get("/interviews")
async def interviews(
    rt: RuntimeDep,
    actor: PrincipalDep,
    org: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(pending|accepted|declined)$")] = None,
) -> dict[str, Any]:
    async with rt.db.read() as session:
        rows = await flow.interviews(session, actor, org_id=org, status=status)
    return {"items": [flow.interview_view(r) for r in rows]}


@router.post("/interviews", status_code=201)
async def request_interview(
    body: InterviewCreate,
    rt: RuntimeDep,
    actor: PressOffice,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return await _create(
        rt,
        response,
        idempotency_key,
        f"interviews:{actor.org_id}",
        body,
        InterviewRequest,
        lambda session: flow.request_interview(session, body, context(rt, actor)),
        flow.interview_view,
    )


@router.post("/interviews/{request_id}/accept")
async def accept(
    request_id: str, rt: RuntimeDep, actor: Decider, body: InterviewAccept | None = None
) -> dict[str, Any]:
    async with rt.db.write() as session:
        request = await flow.accept_interview(
            session, request_id, body or InterviewAccept(), context(rt, actor)
        )
        return flow.interview_view(request)


@router.post("/interviews/{request_id}/decline")
async def decline(
    request_id: str, body: InterviewDecline, rt: RuntimeDep, actor: Decider
) -> dict[str, Any]:
    async with rt.db.write() as session:
        request = await flow.decline_interview(session, request_id, body, context(rt, actor))
        return flow.interview_view(request)
