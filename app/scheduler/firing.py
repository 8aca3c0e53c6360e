"""Firing due timers: the core the scheduler service drives, and tests drive directly.

Every firing is a conditional update,

    UPDATE obligation_timers SET fired_at=:now, ... WHERE id=:id AND fired_at IS NULL

(sent for a whole batch as `id IN (...)` with RETURNING, the same condition per row), and
only the transaction that wins a row writes its event. A process killed mid-batch rolls the
whole batch back (nothing half-fired), and a second instance racing for the same timer
finds no row to update, so no reminder or breach is ever written twice. A breach is guarded
the same way on the obligation: `... SET status='breached' WHERE status='pending'`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.db import Database, dialect_name
from app.events import log
from app.ids import new_id
from app.models import Event, Incident, Obligation, ObligationTimer, Org
from app.workflows import obligations as flow

logger = logging.getLogger("fabu.scheduler")

DEFAULT_BATCH = 200
# A firing more than this after its moment is reported as late (the service was down,
# or stalled); the event carries the lateness either way.
LATE_AFTER_SECONDS = 1.0
# The safety net leaves the ordinary path this long to fire a breach before calling it lost.
SAFETY_NET_GRACE = timedelta(seconds=5)
_DEADLOCK_RETRIES = 3


@dataclass
class FireReport:
    """What one `fire_due` call did."""

    reminders: int = 0
    breaches: int = 0
    escalations: int = 0
    accountability: int = 0
    # Timers whose obligation was met or cancelled meanwhile: spent without an event.
    spent: int = 0
    # Timers another instance fired first (the conditional update found nothing).
    lost: int = 0
    late: int = 0
    max_late_seconds: float = 0.0
    batches: int = 0
    # Per fired timer, seconds from its moment to the commit that made its event visible.
    lateness: list[float] = field(default_factory=list)

    @property
    def fired(self) -> int:
        return self.reminders + self.breaches

    def add(self, other: FireReport) -> None:
        for name in (
            "reminders",
            "breaches",
            "escalations",
            "accountability",
            "spent",
            "lost",
            "late",
            "batches",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.max_late_seconds = max(self.max_late_seconds, other.max_late_seconds)
        self.lateness.extend(other.lateness)


async def next_fire_at(session: AsyncSession) -> datetime | None:
    """The earliest unfired timer (one probe of the partial index)."""
    result = await session.execute(
        select(func.min(ObligationTimer.fire_at)).where(ObligationTimer.fired_at.is_(None))
    )
    value = result.scalar_one_or_none()
    if value is not None and value.tzinfo is None:  # defensive: MIN() of a UTC column
        value = value.replace(tzinfo=UTC)
    return value


async def fire_due(
    db: Database,
    clock: Clock,
    *,
    limit: int = DEFAULT_BATCH,
    holder: str | None = None,
    late_after: float = LATE_AFTER_SECONDS,
) -> FireReport:
    """Fire every timer with fire_at <= clock.now(), `limit` per transaction, oldest first."""
    report = FireReport()
    while True:
        now = clock.now()
        for attempt in range(_DEADLOCK_RETRIES):
            batch = FireReport()
            fire_ats: list[datetime] = []
            try:
                async with db.write() as session:
                    seen = await _fire_batch(
                        session, now, limit, holder, late_after, batch, fire_ats
                    )
                break
            except DBAPIError as exc:
                # A deadlock or serialization failure on PostgreSQL rolls the batch back
                # whole; nothing fired, so trying again is safe.
                if attempt + 1 == _DEADLOCK_RETRIES or not _retryable(exc):
                    raise
                logger.warning("firing batch retried after %s", type(exc.orig).__name__)
        committed = clock.now()
        batch.lateness = [max(0.0, (committed - at).total_seconds()) for at in fire_ats]
        report.add(batch)
        if seen < limit:
            return report


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40P01", "40001")  # deadlock_detected, serialization_failure


async def _fire_batch(
    session: AsyncSession,
    now: datetime,
    limit: int,
    holder: str | None,
    late_after: float,
    report: FireReport,
    fire_ats: list[datetime],
) -> int:
    timers = (
        await session.execute(
            select(
                ObligationTimer.id,
                ObligationTimer.obligation_id,
                ObligationTimer.name,
                ObligationTimer.fire_at,
            )
            .where(ObligationTimer.fired_at.is_(None), ObligationTimer.fire_at <= now)
            .order_by(ObligationTimer.fire_at, ObligationTimer.id)
            .limit(limit)
        )
    ).all()
    if not timers:
        return 0
    report.batches += 1
    obligations, incident_codes, org_codes = await _load(session, timers)

    # The guard: each timer is set fired only where it is still unfired, and RETURNING
    # names the ones this transaction won. (One statement for the batch is the same
    # per-row condition as `WHERE id=:id AND fired_at IS NULL`, without a round trip each.)
    # A timer whose obligation was met or cancelled meanwhile is spent without an event.
    live_ids = [t.id for t in timers if obligations[t.obligation_id].status == flow.OPEN]
    spent_ids = [t.id for t in timers if obligations[t.obligation_id].status != flow.OPEN]
    won = await _claim(session, live_ids, now, holder, "fired")
    spent = await _claim(session, spent_ids, now, holder, "spent")
    report.spent += len(spent)
    report.lost += len(timers) - len(won) - len(spent)
    late = {t.id: max(0.0, (now - t.fire_at).total_seconds()) for t in timers}
    if won or spent:
        await session.execute(
            _SET_LATE,
            [{"tid": tid, "late": late[tid]} for tid in (*won, *spent)],
        )

    # Breaches: pending → breached, again only where still pending, grouped by where the
    # breach escalates so each group is one statement.
    targets: dict[str, str | None] = {}
    for t in timers:
        if t.id in won and t.name == flow.BREACH:
            obligation = obligations[t.obligation_id]
            targets[obligation.id] = flow.escalation_target(
                obligation, org_codes.get(obligation.org_id, obligation.division_code)
            )
    breached: set[str] = set()
    for target in set(targets.values()):
        ids = [oid for oid, tgt in targets.items() if tgt == target]
        result = await session.execute(
            update(Obligation)
            .where(Obligation.id.in_(ids), Obligation.status == flow.OPEN)
            .values(status="breached", breached_at=now, escalated_to_org_id=target)
            .returning(Obligation.id)
            .execution_options(synchronize_session=False)
        )
        breached.update(result.scalars())

    # Every event goes through `log.append` unflushed: each gets its seq in the order
    # added, and the whole batch (events, their audit entries, the accountability
    # records) is written by the one flush at commit.
    for t in timers:
        if t.id not in won:
            continue
        obligation = obligations[t.obligation_id]
        codes: Sequence[str] = (
            incident_codes.get(obligation.incident_id, [obligation.division_code])
            if obligation.incident_id
            else [obligation.division_code]
        )
        if t.name != flow.BREACH:
            await _append(
                session,
                flow.reminder_event(
                    obligation,
                    reminder=t.name,
                    fire_at=t.fire_at,
                    at=now,
                    late_seconds=late[t.id],
                    division_codes=codes,
                    late_after=late_after,
                ),
            )
            report.reminders += 1
        elif obligation.id in breached:
            target = targets[obligation.id]
            flow.mark_breached(obligation, at=now, target=target)
            breach, *escalation = flow.breach_events(
                obligation,
                at=now,
                target=target,
                late_seconds=late[t.id],
                division_codes=codes,
                late_after=late_after,
            )
            flow.breach_audit(session, obligation, at=now, event=await _append(session, breach))
            for item in escalation:
                await _append(session, item)
            report.breaches += 1
            if target is not None:
                session.add(
                    flow.accountability_record(
                        obligation, at=now, target=target, late_seconds=late[t.id]
                    )
                )
                report.escalations += 1
                report.accountability += 1
        else:
            report.spent += 1  # another path breached or closed it in between
            continue
        fire_ats.append(t.fire_at)
        if late[t.id] > late_after:
            report.late += 1
        report.max_late_seconds = max(report.max_late_seconds, late[t.id])
    return len(timers)


_timers = ObligationTimer.__table__
_SET_LATE = (
    _timers.update()  # type: ignore[attr-defined]
    .where(_timers.c.id == bindparam("tid"))
    .values(late_seconds=bindparam("late"))
)


async def _claim(
    session: AsyncSession, ids: list[str], now: datetime, holder: str | None, outcome: str
) -> set[str]:
    if not ids:
        return set()
    result = await session.execute(
        update(ObligationTimer)
        .where(ObligationTimer.id.in_(ids), ObligationTimer.fired_at.is_(None))
        .values(fired_at=now, outcome=outcome, fired_by=holder)
        .returning(ObligationTimer.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


async def _load(
    session: AsyncSession, timers: Sequence[Any]
) -> tuple[dict[str, Obligation], dict[str, list[str]], dict[str, str]]:
    """The batch's obligations, their incidents' divisions and their organs' divisions,
    locked on PostgreSQL in the house order: incidents first, then obligations."""
    postgres = dialect_name(session) == "postgresql"
    obligation_ids = sorted({t.obligation_id for t in timers})
    incident_ids = sorted(
        {
            i
            for i in (
                await session.execute(
                    select(Obligation.incident_id).where(Obligation.id.in_(obligation_ids))
                )
            ).scalars()
            if i
        }
    )
    incident_codes: dict[str, list[str]] = {}
    if incident_ids:
        incident_stmt = (
            select(Incident.id, Incident.division_codes)
            .where(Incident.id.in_(incident_ids))
            .order_by(Incident.id)
        )
        if postgres:
            incident_stmt = incident_stmt.with_for_update(of=Incident)
        incident_codes = {
            row.id: list(row.division_codes) for row in await session.execute(incident_stmt)
        }
    obligation_stmt = (
        select(Obligation)
        .where(Obligation.id.in_(obligation_ids))
        .order_by(Obligation.id)
        .execution_options(populate_existing=True)
    )
    if postgres:
        obligation_stmt = obligation_stmt.with_for_update(of=Obligation)
    obligations = {o.id: o for o in (await session.execute(obligation_stmt)).scalars()}
    org_rows = await session.execute(
        select(Org.id, Org.division_code).where(
            Org.id.in_({o.org_id for o in obligations.values()})
        )
    )
    return obligations, incident_codes, {row.id: row.division_code for row in org_rows}


async def _append(session: AsyncSession, item: flow.NewEvent) -> Event:
    return await log.append(
        session,
        item.type,
        at=item.at,
        data=item.data,
        incident_id=item.incident_id,
        org_id=item.org_id,
        division_codes=item.division_codes,
        flush=False,
    )


@dataclass
class SweepReport:
    """What the safety net found: pending obligations past due that had not breached."""

    found: int = 0
    # Of those, how many had lost their breach timer altogether and got a new one.
    rearmed: int = 0
    fired: FireReport = field(default_factory=FireReport)


async def sweep(
    db: Database,
    clock: Clock,
    *,
    grace: timedelta = SAFETY_NET_GRACE,
    limit: int = 1000,
    holder: str | None = None,
    late_after: float = LATE_AFTER_SECONDS,
) -> SweepReport:
    """The safety net: find pending obligations past due (a lost job, a stalled loop) and
    fire them now through the same conditional path."""
    cutoff = clock.now() - grace
    report = SweepReport()
    async with db.read() as session:
        overdue = list(
            (
                await session.execute(
                    select(Obligation.id)
                    .where(Obligation.status == flow.OPEN, Obligation.due_at <= cutoff)
                    .order_by(Obligation.due_at, Obligation.id)
                    .limit(limit)
                )
            ).scalars()
        )
    if not overdue:
        return report
    report.found = len(overdue)
    async with db.write() as session:
        armed = set(
            (
                await session.execute(
                    select(ObligationTimer.obligation_id).where(
                        ObligationTimer.obligation_id.in_(overdue),
                        ObligationTimer.name == flow.BREACH,
                        ObligationTimer.fired_at.is_(None),
                    )
                )
            ).scalars()
        )
        lost = (
            await session.execute(
                select(Obligation.id, Obligation.due_at).where(
                    Obligation.id.in_(set(overdue) - armed), Obligation.status == flow.OPEN
                )
            )
        ).all()
        for row in lost:
            # Its breach timer is gone or was spent without firing: give it a new one at
            # the due time, so the breach still goes through the conditional update.
            session.add(
                ObligationTimer(
                    id=new_id("tmr"), obligation_id=row.id, name=flow.BREACH, fire_at=row.due_at
                )
            )
        report.rearmed = len(lost)
    report.fired = await fire_due(db, clock, holder=holder, late_after=late_after)
    return report
