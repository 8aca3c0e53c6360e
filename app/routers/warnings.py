"""Early warnings (Art. 24): drafted with their release, exported as CAP 1.2, listed in an
Atom feed.

The feed and the CAP documents of published messages are public: alerting hubs read them
without a token, and they only ever show what has been published. Everything else needs a
token and stays within its jurisdiction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency
from app.auth import Principal
from app.deps import IdempotencyKey, PrincipalDep, RuntimeDep, release_context, require
from app.models.warnings import EarlyWarning
from app.rules.releases import STEP_ROLES, StepKind
from app.runtime import Runtime
from app.schemas.warnings import WarningCancel, WarningCreate, WarningUpdate
from app.workflows import warnings as flow

router = APIRouter(prefix="/api/v1", tags=["early warnings"])

Drafter = Annotated[Principal, Depends(require("drafter"))]
Publisher = Annotated[Principal, Depends(require(*sorted(STEP_ROLES[StepKind.publish])))]

CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_MEDIA_TYPE = "application/atom+xml"


async def _shown(rt: Runtime, session: AsyncSession, warning: EarlyWarning) -> dict[str, Any]:
    return await flow.view(session, warning, rt.settings.public_url, rt.clock.now())


async def _create(
    rt: Runtime,
    actor: Principal,
    response: Response,
    key: str | None,
    body: BaseModel,
    extra: str,
    make: Callable[[AsyncSession], Awaitable[EarlyWarning]],
) -> dict[str, Any]:
    """A new message, or the one an earlier request with the same Idempotency-Key made."""
    scope = f"warnings:{actor.org_id}"
    async with rt.db.write() as session:
        warning, created = await idempotency.replay_or_make(
            session,
            key,
            scope,
            body,
            find=lambda prior: flow.get_visible(session, prior, actor),
            make=lambda: make(session),
            clock=rt.clock,
            extra=extra,
        )
        if not created:
            response.status_code = 200
        return await _shown(rt, session, warning)


@router.post("/warnings", status_code=201)
async def issue(
    body: WarningCreate,
    rt: RuntimeDep,
    actor: Drafter,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return await _create(
        rt,
        actor,
        response,
        idempotency_key,
        body,
        "issue",
        lambda session: flow.issue(session, body, release_context(rt, actor)),
    )


@router.get("/warnings")
async def listing(
    rt: RuntimeDep,
    actor: PrincipalDep,
    state: Annotated[str | None, Query(pattern="^(pending|active|expired|cancelled)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    async with rt.db.read() as session:
        items = await flow.listing(
            session, actor, rt.settings.public_url, rt.clock.now(), state=state, limit=limit
        )
    return {"items": items}


# Declared before /warnings/{warning_id}, which would otherwise take "x.cap" as an id.
@router.get("/warnings/{warning_id}.cap", response_class=Response)
async def cap(warning_id: str, rt: RuntimeDep) -> Response:
    async with rt.db.read() as session:
        document = await flow.cap_document(session, warning_id)
    return Response(document, media_type=CAP_MEDIA_TYPE)


@router.get("/warnings/{warning_id}")
async def get_one(warning_id: str, rt: RuntimeDep, actor: PrincipalDep) -> dict[str, Any]:
    async with rt.db.read() as session:
        warning = await flow.get_visible(session, warning_id, actor)
        return await _shown(rt, session, warning)


@router.post("/warnings/{warning_id}/update", status_code=201)
async def update(
    warning_id: str,
    body: WarningUpdate,
    rt: RuntimeDep,
    actor: Drafter,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return await _create(
        rt,
        actor,
        response,
        idempotency_key,
        body,
        f"update:{warning_id}",
        lambda session: flow.update(session, warning_id, body, release_context(rt, actor)),
    )


@router.post("/warnings/{warning_id}/cancel", status_code=201)
async def cancel(
    warning_id: str,
    body: WarningCancel,
    rt: RuntimeDep,
    actor: Drafter,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return await _create(
        rt,
        actor,
        response,
        idempotency_key,
        body,
        f"cancel:{warning_id}",
        lambda session: flow.cancel(session, warning_id, body, release_context(rt, actor)),
    )


@router.post("/warnings/{warning_id}/publish")
async def publish(warning_id: str, rt: RuntimeDep, actor: Publisher) -> dict[str, Any]:
    """The last step of the message's release work flow, announced as `warning.published`."""
    async with rt.db.write() as session:
        warning = await flow.publish(session, warning_id, release_context(rt, actor))
        return await _shown(rt, session, warning)


@router.get("/feeds/warnings.atom", response_class=Response)
async def feed(
    rt: RuntimeDep, division: Annotated[str | None, Query(max_length=12)] = None
) -> Response:
    async with rt.db.read() as session:
        document = await flow.atom_feed(
            session, now=rt.clock.now(), public_url=rt.settings.public_url, division=division
        )
    return Response(document, media_type=ATOM_MEDIA_TYPE)
