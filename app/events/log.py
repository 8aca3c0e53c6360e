"""Append to the ordered event log inside the caller's transaction; read it back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import iso
from app.db import dialect_name
from app.events import types
from app.ids import new_id
from app.models import AuditEntry, Event

# The largest seq either backend can hold (PostgreSQL BIGINT, SQLite INTEGER): a position
# from a client beyond it is refused before a query, which could not bind it.
MAX_SEQ = 2**63 - 1

# One key for the transaction-scoped lock that orders event commits on PostgreSQL.
_EVENT_ORDER_LOCK = 0x46414255  # "FABU"


async def append(
    session: AsyncSession,
    type_: str,
    *,
    at: datetime,
    data: dict[str, Any],
    incident_id: str | None = None,
    org_id: str | None = None,
    division_codes: Iterable[str] = (),
    flush: bool = True,
) -> Event:
    """Write one event in the current transaction.

    With `flush=False` the event is only added: it gets its seq with the next flush, in
    the order events were added, which saves a round trip when nothing needs the seq now.

    On PostgreSQL a sequence hands out numbers at insert time, not at commit, so a reader
    could see seq 11 before seq 10 commits and skip 10 forever. Holding a transaction-level
    advisory lock from the first append to commit makes commit order equal seq order.

    A type missing from app.events.types is refused: subscribers choose from that list,
    so an event outside it would reach no one who asked for it by name.
    """
    if not types.writable(type_):
        raise ValueError(f"event type {type_!r} is not in app.events.types.EVENT_TYPES")
    if dialect_name(session) == "postgresql" and not session.info.get("event_lock"):
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _EVENT_ORDER_LOCK})
        session.info["event_lock"] = True
    event = Event(
        id=new_id("evt"),
        type=type_,
        at=at,
        incident_id=incident_id,
        org_id=org_id,
        division_codes=sorted(set(division_codes)),
        data=data,
    )
    session.add(event)
    if flush:
        await session.flush()
    if dialect_name(session) == "postgresql" and not session.info.get("event_notified"):
        # Delivered at commit to every instance listening: they tail the table from there.
        await session.execute(text("SELECT pg_notify('fabu_events', '')"))
        session.info["event_notified"] = True
    session.info["events_written"] = True
    return event


def audit(
    session: AsyncSession,
    *,
    at: datetime,
    actor: Any,
    action: str,
    entity_type: str,
    entity_id: str,
    incident_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    event: Event | None = None,
) -> AuditEntry:
    """Record who did what; `actor` is a Principal or None for the system itself."""
    entry = AuditEntry(
        id=new_id("aud"),
        at=at,
        # Through the relationship, so the entry gets the event's seq in the same flush.
        event=event,
        token_id=getattr(actor, "token_id", None),
        org_id=getattr(actor, "org_id", None),
        roles=sorted(getattr(actor, "roles", ()) or ()),
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        incident_id=incident_id,
        before=before,
        after=after,
        reason=reason,
    )
    session.add(entry)
    return entry


async def record(
    session: AsyncSession,
    type_: str,
    *,
    action: str,
    entity_type: str,
    entity_id: str,
    at: datetime,
    actor: Any,
    data: dict[str, Any],
    org_id: str | None = None,
    incident_id: str | None = None,
    division_codes: Iterable[str] = (),
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    flush: bool = True,
) -> Event:
    """A change made by someone: its event, and the audit entry linked to that event.

    `incident_id` goes on both; `data` is the event's, `before`/`after` the entry's.
    """
    event = await append(
        session,
        type_,
        flush=flush,
        at=at,
        incident_id=incident_id,
        org_id=org_id,
        division_codes=division_codes,
        data=data,
    )
    audit(
        session,
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        incident_id=incident_id,
        before=before,
        after=after,
        reason=reason,
        event=event,
    )
    return event


async def last_seq(session: AsyncSession) -> int:
    """The highest seq committed so far (0 for an empty log)."""
    return int((await session.execute(select(func.max(Event.seq)))).scalar() or 0)


async def read_after(session: AsyncSession, after: int, limit: int) -> Sequence[Event]:
    result = await session.execute(
        select(Event).where(Event.seq > after).order_by(Event.seq).limit(limit)
    )
    return result.scalars().all()


def to_wire(event: Event) -> dict[str, Any]:
    """The event as API.md shows it."""
    body: dict[str, Any] = {
        "seq": event.seq,
        "id": event.id,
        "type": event.type,
        "at": iso(event.at),
        "data": event.data,
    }
    if event.incident_id:
        body["incident_id"] = event.incident_id
    if event.org_id:
        body["org_id"] = event.org_id
    return body
