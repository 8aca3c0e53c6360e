"""Idempotency-Key: a retried create gets back what the first request made.

A key is remembered per scope with a hash of the request; the same key with another
request is a conflict rather than a silent second resource.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.errors import conflict
from app.models import IdempotencyKey


class _Resource(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_Resource)


def digest(payload: dict[str, Any]) -> str:
    """The request's hash: its JSON with sorted keys, so field order does not matter."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def prior(session: AsyncSession, key: str | None, scope: str, request: str) -> str | None:
    """The id of what an earlier request with this key made, or None; the same key with
    another request (`request` is its digest) is a conflict."""
    if not key:
        return None
    row = await session.get(IdempotencyKey, (key, scope))
    if row is None:
        return None
    if row.request_hash != request:
        raise conflict(
            "idempotency-key-reused", "This Idempotency-Key was used with a different body."
        )
    return row.resource_id


def remember(
    session: AsyncSession,
    key: str | None,
    scope: str,
    request: str,
    resource_id: str,
    at: datetime,
) -> None:
    if key:
        session.add(
            IdempotencyKey(
                key=key, scope=scope, request_hash=request, resource_id=resource_id, created_at=at
            )
        )


def body_digest(body: BaseModel, extra: str = "") -> str:
    """The digest of a request body; `extra` tells apart requests to different paths."""
    return digest({"extra": extra, **body.model_dump(mode="json")})


async def replay_or_make(
    session: AsyncSession,
    key: str | None,
    scope: str,
    body: BaseModel,
    *,
    find: Callable[[str], Awaitable[R]],
    make: Callable[[], Awaitable[R]],
    clock: Clock,
    extra: str = "",
) -> tuple[R, bool]:
    """What an earlier request with this key made (`find` loads it by id), or a new one
    from `make`, remembered under the key; and whether it is new."""
    request = body_digest(body, extra)
    earlier = await prior(session, key, scope, request)
    if earlier is not None:
        return await find(earlier), False
    made = await make()
    remember(session, key, scope, request, made.id, clock.now())
    return made, True
