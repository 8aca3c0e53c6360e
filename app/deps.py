"""FastAPI dependencies: the runtime, the caller and its roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError
from sqlalchemy import select

from app import directory
from app.auth import Principal, hash_token
from app.errors import Problem, invalid
from app.models import ApiToken, Org
from app.runtime import Runtime
from app.schemas.base import unprintable
from app.workflows import incidents, releases


async def runtime(request: Request) -> Runtime:
    # async, though it awaits nothing: FastAPI runs a plain def dependency in its thread
    # pool, a thread hop on every request for an attribute read.
    _refuse_unprintable_params(request)
    rt: Runtime = request.app.state.runtime
    return rt


def _refuse_unprintable_params(request: Request) -> None:
    """A 422 naming the path or query parameter that holds a control character.

    Every route that reaches the database takes the runtime, so this is the one gate before
    a parameter is bound into a query: PostgreSQL refuses a NUL in text outright, which
    would otherwise be a 500 (request bodies are checked by app.schemas.base.Strict).
    """
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        reason = unprintable(value) if isinstance(value, str) else None
        if reason is not None:
            raise invalid(name, reason)


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def context(rt: Runtime, actor: Principal) -> incidents.Context:
    """Who acts and when, with the configured tolerance for times a little ahead of ours."""
    return incidents.Context(
        actor=actor,
        clock=rt.clock,
        future_tolerance=timedelta(seconds=rt.settings.future_tolerance_seconds),
    )


def release_context(rt: Runtime, actor: Principal) -> releases.Context:
    """Who acts and when, and the public address publications link to."""
    return releases.Context(actor=actor, clock=rt.clock, public_url=rt.settings.public_url)


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
    header = request.headers.get("authorization")
    token = bearer(header)
    if token is None:
        if header:
            # Sent, but not as the scheme says (often the bare token): say how it must look.
            raise _unauthorized("Authorization must be 'Bearer <token>'.")
        raise _unauthorized("A bearer token is required.")
    found = await principal_for_token(rt, token, cached=True)
    if found is None:
        raise _unauthorized("The token is unknown or revoked.")
    return found


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def _printable_ascii(value: str | None) -> str | None:
    # The key is stored, and PostgreSQL cannot store a NUL; a header has no use for others.
    if value is not None and not (value.isascii() and value.isprintable()):
        raise PydanticCustomError("not_printable_ascii", "must be printable ASCII")
    return value


# The Idempotency-Key header of a create (see app.idempotency).
IdempotencyKey = Annotated[str | None, Header(max_length=200), AfterValidator(_printable_ascii)]


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers that hold any of `roles` (admin is not implied)."""

    async def check(actor: PrincipalDep) -> Principal:
        if not actor.has(*roles):
            raise Problem(
                403,
                "forbidden-role",
                "Forbidden",
                f"This needs one of the roles: {', '.join(roles)}; this token has: "
                f"{', '.join(sorted(actor.roles)) or 'none'}.",
            )
        return actor

    return check
