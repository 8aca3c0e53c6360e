"""FastAPI dependencies: the runtime, the caller and its roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

from app import directory
from app.auth import Principal, hash_token
from app.errors import Problem
from app.models import ApiToken, Org
from app.runtime import Runtime


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail)


async def principal_for_token(rt: Runtime, token: str | None) -> Principal | None:
    if not token:
        return None
    async with rt.db.read() as session:
        row = (
            await session.execute(
                select(ApiToken, Org)
                .join(Org, Org.id == ApiToken.org_id)
                .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
            )
        ).first()
    if row is None:
        return None
    tok, org = row
    return Principal(
        token_id=tok.id,
        org_id=org.id,
        org_kind=org.kind,
        division_code=org.division_code,
        roles=frozenset(tok.roles),
        jurisdiction=directory.jurisdiction_of(org),
    )


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def current_principal(request: Request, rt: RuntimeDep) -> Principal:
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise _unauthorized("A bearer token is required.")
    found = await principal_for_token(rt, token)
    if found is None:
        raise _unauthorized("The token is unknown or revoked.")
    return found


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers that hold any of `roles` (admin is not implied)."""

    async def check(actor: PrincipalDep) -> Principal:
        if not actor.has(*roles):
            raise Problem(
                403,
                "forbidden-role",
                "Forbidden",
                f"This needs one of the roles: {', '.join(roles)}.",
            )
        return actor

    return check
