"""Issuing and revoking bearer tokens; the secret is shown once and stored hashed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal, generate_token, hash_token
from app.clock import Clock, iso
from app.errors import invalid, not_found
from app.events import log
from app.ids import new_id
from app.models import ApiToken, Org


def token_view(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "org_id": token.org_id,
        "roles": token.roles,
        "name": token.name,
        "created_at": iso(token.created_at),
        "revoked_at": iso(token.revoked_at),
    }


async def issue(
    session: AsyncSession,
    *,
    org_id: str,
    roles: Sequence[str],
    name: str,
    clock: Clock,
    actor: Principal | None,
) -> tuple[ApiToken, str]:
    org = await session.get(Org, org_id)
    if org is None or (actor is not None and org.division_code not in actor.jurisdiction):
        # An admin manages tokens of organs in its own jurisdiction only.
        raise invalid("org_id", f"unknown organ {org_id!r}")
    secret = generate_token()
    token = ApiToken(
        id=new_id("tok"),
        name=name or f"{org.name_en} ({', '.join(roles)})",
        org_id=org.id,
        roles=sorted(set(roles)),
        token_hash=hash_token(secret),
        created_at=clock.now(),
    )
    session.add(token)
    log.audit(
        session,
        at=clock.now(),
        actor=actor,
        action="token.create",
        entity_type="token",
        entity_id=token.id,
        after=token_view(token),
    )
    return token, secret


async def revoke(session: AsyncSession, token_id: str, *, clock: Clock, actor: Principal) -> None:
    token = await session.get(ApiToken, token_id)
    org = await session.get(Org, token.org_id) if token is not None else None
    if (
        token is None
        or token.revoked_at is not None
        or org is None
        or org.division_code not in actor.jurisdiction
    ):
        raise not_found("token")
    token.revoked_at = clock.now()
    log.audit(
        session,
        at=clock.now(),
        actor=actor,
        action="token.revoke",
        entity_type="token",
        entity_id=token.id,
        before={"revoked_at": None},
        after={"revoked_at": iso(token.revoked_at)},
    )


async def listing(session: AsyncSession, actor: Principal) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(ApiToken)
        .join(Org, Org.id == ApiToken.org_id)
        .where(Org.division_code.in_(actor.jurisdiction))
        .order_by(ApiToken.created_at)
    )
    return [token_view(t) for t in rows.scalars()]
