"""Issuing and revoking bearer tokens; the secret is shown once and stored hashed."""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.auth import Principal, generate_token, hash_token
from app.clock import Clock, iso
from app.errors import invalid, not_found
from app.events import log
from app.ids import new_id
from app.models import ApiToken, Org


class PrincipalCache:
    """Principals by token hash, kept for `ttl` seconds so a request does not cost a lookup.

    Revocation takes effect at once in this process: every cache in it forgets the token
    when the revoking transaction commits, and a lookup that started before that moment
    does not store what it read. A revocation committed by another process (another
    instance on the same PostgreSQL) is seen here within `ttl`. Unknown tokens are never
    cached, so a token minted anywhere works at once.
    """

    def __init__(self, ttl: float, *, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}
        self.generation = 0
        _caches.add(self)

    def get(self, token_hash: str) -> Principal | None:
        found = self._entries.get(token_hash)
        if found is None:
            return None
        principal, expires = found
        if time.monotonic() >= expires:
            del self._entries[token_hash]
            return None
        return principal

    def put(self, token_hash: str, principal: Principal, *, generation: int) -> None:
        if self.ttl <= 0 or generation != self.generation:
            return  # a revocation committed while this lookup ran: it may be stale
        if len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[token_hash] = (principal, time.monotonic() + self.ttl)

    def discard(self, token_hash: str) -> None:
        self._entries.pop(token_hash, None)

    def forget(self, token_ids: Iterable[str]) -> None:
        gone = set(token_ids)
        self.generation += 1
        for key, (principal, _) in list(self._entries.items()):
            if principal.token_id in gone:
                del self._entries[key]


_caches: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()


def _forget_at_commit(session: AsyncSession, token_id: str) -> None:
    def forget(_: Session) -> None:
        for cache in list(_caches):
            cache.forget([token_id])

    event.listen(session.sync_session, "after_commit", forget, once=True)


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
    name: str | None,
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
    _forget_at_commit(session, token.id)
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
