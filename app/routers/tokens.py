"""Tokens (admin) and who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from app.auth import Principal
from app.deps import PrincipalDep, RuntimeDep, require
from app.errors import not_found
from app.models import Org
from app.schemas.tokens import TokenCreate
from app.views import org_view
from app.workflows import tokens as flow

router = APIRouter(prefix="/api/v1", tags=["auth"])

Admin = Annotated[Principal, Depends(require("admin"))]


@router.post("/tokens", status_code=201)
async def create_token(body: TokenCreate, rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    async with rt.db.write() as session:
        token, secret = await flow.issue(
            session,
            org_id=body.org_id,
            roles=[r.value for r in body.roles],
            name=body.name,
            clock=rt.clock,
            actor=actor,
        )
        view = flow.token_view(token)
    return {**view, "token": secret}


@router.get("/tokens")
async def list_tokens(rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    async with rt.db.read() as session:
        return {"items": await flow.listing(session, actor)}


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: str, rt: RuntimeDep, actor: Admin) -> Response:
    async with rt.db.write() as session:
        await flow.revoke(session, token_id, clock=rt.clock, actor=actor)
    return Response(status_code=204)


@router.get("/me")
async def me(rt: RuntimeDep, actor: PrincipalDep) -> dict[str, Any]:
    async with rt.db.read() as session:
        org = await session.get(Org, actor.org_id)
    if org is None:
        raise not_found("organ")
    return {
        "org": org_view(org),
        "roles": sorted(actor.roles),
        "jurisdiction": sorted(actor.jurisdiction),
    }
