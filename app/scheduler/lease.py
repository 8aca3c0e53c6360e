"""The scheduling lease: one row per lease name, claimed and renewed by a conditional update.

Plain SQL on purpose, so it behaves the same on SQLite and PostgreSQL (no advisory locks,
no session-bound state that a dropped connection would silently release). The lease only
saves wasted work; the conditional firing update is what keeps a timer from firing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.db import Database
from app.models.obligations import SchedulerLease


@dataclass(frozen=True)
class LeaseState:
    holder: str
    expires_at: datetime
    acquired_at: datetime


async def claim(db: Database, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; True when `holder` holds it until now + ttl.

    Succeeds when nobody holds it, when `holder` already does, or when the last holder
    let it expire (stopped renewing: killed, hung, cut off from the database).
    """
    expires = now + ttl
    async with db.write() as session:
        result = await session.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == name,
                or_(SchedulerLease.holder == holder, SchedulerLease.expires_at <= now),
            )
            .values(
                holder=holder,
                expires_at=expires,
                acquired_at=case(
                    (SchedulerLease.holder == holder, SchedulerLease.acquired_at), else_=now
                ),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return True
        exists = await session.execute(
            select(SchedulerLease.name).where(SchedulerLease.name == name)
        )
        if exists.first() is not None:
            return False
    try:
        async with db.write() as session:
            session.add(
                SchedulerLease(name=name, holder=holder, expires_at=expires, acquired_at=now)
            )
    except IntegrityError:
        return False  # another instance inserted it first
    return True


async def release(db: Database, name: str, holder: str, *, now: datetime) -> None:
    """Give the lease up at once (clean shutdown), so a standby need not wait for expiry."""
    async with db.write() as session:
        await session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )


async def current(db: Database, name: str) -> LeaseState | None:
    async with db.read() as session:
        row = await session.get(SchedulerLease, name)
        if row is None:
            return None
        return LeaseState(row.holder, row.expires_at, row.acquired_at)
