"""FastAPI dependencies: the runtime, the caller and its roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import select

from app import directory
from app.auth import Principal, hash_token
from app.errors import Problem
from app.models import ApiToken, Org
from app.runtime import Runtime
from app.workflows import incidents


async def runtime(request: Request) -> Runtime:
    # async, though it awaits nothing: FastAPI runs a plain def dependency in its thread
    # pool, a thread hop on every request for an attribute read.
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def context(rt: Runtime, actor: Principal) -> incidents.Context:
    """Who acts and when, with the configured tolerance for times a little ahead of ours."""
    return incidents.Context(
        actor=actor,
        clock=rt.clock,
        future_tolerance=timedelta(seconds=rt.settings.future_tolerance_seconds),
    )


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail)


async def principal_for_token(
    rt: Runtime, token: str | None, *, cached: bool = False
) -> Principal | None:
    """The caller behind a bearer token, or None for an unknown or revoked one.

    `cached`: accept a lookup made in the last `token_cache_seconds` (HTTP requests, which
    come often and end soon). A long-lived connection (WS /live) asks the database.
    """
    if not token:
        return None
    token_hash = hash_token(token)
    cache = rt.principal_cache
    if cached:
        known = cache.get(token_hash)
        if known is not None:
            return known
    generation = cache.generation
    async with rt.db.read() as session:
        row = (
            await session.execute(
                select(ApiToken, Org)
                .join(Org, Org.id == ApiToken.org_id)
                .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
            )
        ).first()
    if row is None:
        cache.discard(token_hash)  # revoked behind our back: stop trusting it here too
        return None
    tok, org = row
    principal = Principal(
        token_id=tok.id,
        org_id=org.id,
        org_kind=org.kind,
        division_code=org.division_code,
        roles=frozenset(tok.roles),
        jurisdiction=directory.jurisdiction_of(org),
    )
    cache.put(token_hash, principal, generation=generation)
    return principal


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def current_principal(request: Request, rt: RuntimeDep) -> Principal:
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise _unauthorized("A bearer token is required.")
    found = await principal_for_token(rt, token, cached=True)
    if found is None:
        raise _unauthorized("The token is unknown or revoked.")
    return found


PrincipalDep = Annotated[Principal, Depends(current_principal)]
# The Idempotency-Key header of a create (see app.idempotency).
IdempotencyKey = Annotated[str | None, Header(max_length=200)]


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
