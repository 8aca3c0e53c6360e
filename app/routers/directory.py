"""The directory of organs and divisions (public to any valid token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from app import directory
from app.deps import PrincipalDep, RuntimeDep
from app.errors import not_found
from app.models import Division, Org
from app.views import division_view, org_view

router = APIRouter(prefix="/api/v1", tags=["directory"])


@router.get("/orgs")
async def list_orgs(
    rt: RuntimeDep,
    _: PrincipalDep,
    kind: Annotated[
        str | None, Query(pattern="^(government|information_office|department|on_site_command)$")
    ] = None,
    division: Annotated[str | None, Query(max_length=12)] = None,
) -> dict[str, Any]:
    stmt = select(Org).order_by(Org.division_code, Org.kind, Org.id)
    if kind:
        stmt = stmt.where(Org.kind == kind)
    if division:
        directory.check_division(division, "division")
        stmt = stmt.where(Org.division_code == division)
    async with rt.db.read() as session:
        return {"items": [org_view(o) for o in (await session.execute(stmt)).scalars()]}


@router.get("/orgs/{org_id}")
async def get_org(org_id: str, rt: RuntimeDep, _: PrincipalDep) -> dict[str, Any]:
    async with rt.db.read() as session:
        org = await session.get(Org, org_id)
    if org is None:
        raise not_found("organ")
    return org_view(org)


@router.get("/divisions/{code}")
async def get_division(code: str, rt: RuntimeDep, _: PrincipalDep) -> dict[str, Any]:
    async with rt.db.read() as session:
        division = await session.get(Division, code)
    if division is None:
        raise not_found("division")
    return division_view(division)
