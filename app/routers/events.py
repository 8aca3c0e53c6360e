"""GET /events: catch up on the ordered event log, within the caller's jurisdiction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import iso
from app.deps import PrincipalDep, RuntimeDep
from app.errors import invalid
from app.events import log
from app.events.filters import Audience
from app.models import Event

router = APIRouter(prefix="/api/v1", tags=["events"])

# Rows examined per request at most, so that a caller who sees little of the log still
# gets an answer quickly; `next_after` lets it carry on from where the scan stopped.
SCAN_LIMIT = 5000
PAGE = 500


@router.get("/events")
async def list_events(
    rt: RuntimeDep,
    actor: PrincipalDep,
    after: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    last: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> dict[str, Any]:
    """`after=SEQ`: the visible events after SEQ, oldest first. `last=N` instead: the N most
    recent visible events, oldest first (a dashboard's feed on opening)."""
    if after is not None and last is not None:
        raise invalid("last", "give either after or last, not both")
    audience = Audience.of(actor)
    async with rt.db.read() as session:
        # Read first: the reply's `last_seq` is never ahead of what was scanned.
        tail = await log.last_seq(session)
        now = rt.clock.now()
        if last is not None:
            items = await _latest(session, audience, last, tail)
            next_after = tail
            has_more = False
        else:
            start = after or 0
            if start > tail:
                raise invalid("after", f"beyond the end of the log (last seq is {tail})")
            items, scanned_to = await _forward(session, audience, start, limit, tail)
            next_after = scanned_to
            has_more = scanned_to < tail
    return {
        "items": [log.to_wire(e) for e in items],
        # Resume with after=next_after: it passes over events outside the jurisdiction too.
        "next_after": next_after,
        "has_more": has_more,
        "last_seq": tail,
        # The server's clock, for a client that shows countdowns (the dashboard).
        "now": iso(now),
    }


async def _forward(
    session: AsyncSession, audience: Audience, after: int, limit: int, tail: int
) -> tuple[list[Event], int]:
    items: list[Event] = []
    cursor = after
    scanned = 0
    while cursor < tail and scanned < SCAN_LIMIT:
        rows = await log.read_after(session, cursor, min(PAGE, SCAN_LIMIT - scanned))
        if not rows:
            break
        for event in rows:
            scanned += 1
            if event.seq > tail:
                return items, cursor
            cursor = event.seq
            if audience.sees(event.division_codes, event.org_id):
                items.append(event)
                if len(items) == limit:
                    return items, cursor
    return items, cursor


async def _latest(session: AsyncSession, audience: Audience, count: int, tail: int) -> list[Event]:
    found: list[Event] = []
    before = tail + 1
    scanned = 0
    while before > 1 and scanned < SCAN_LIMIT and len(found) < count:
        newest_first = select(Event).where(Event.seq < before).order_by(Event.seq.desc())
        rows = (await session.execute(newest_first.limit(PAGE))).scalars().all()
        if not rows:
            break
        for event in rows:
            scanned += 1
            before = event.seq
            if audience.sees(event.division_codes, event.org_id):
                found.append(event)
                if len(found) == count:
                    break
    found.reverse()
    return found
