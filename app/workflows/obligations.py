"""Obligations: opened from the rules, moved with responsibility, met, cancelled.

The rows are the truth; the scheduler only reads their timers (app.scheduler).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import iso
from app.events import log
from app.ids import new_id
from app.models import Incident, Obligation, ObligationTimer
from app.rules import obligations as rules
from app.rules.levels import Category, Level

OPEN = "pending"

# Current windows; settings may replace them at start-up (RULES §3: all configurable).
windows: rules.Windows = rules.DEFAULT_WINDOWS


def facts_of(incident: Incident) -> rules.IncidentClockFacts:
    known = {
        Level(k): datetime.fromisoformat(v.replace("Z", "+00:00"))
        for k, v in incident.level_known_at.items()
    }
    return rules.IncidentClockFacts(
        category=Category(incident.category),
        level=Level(incident.level),
        occurred_at=incident.occurred_at,
        known_at=known,
        public_opinion_major_at=incident.public_opinion_major_at,
        closed_at=incident.closed_at,
    )


async def for_incident(session: AsyncSession, incident_id: str) -> list[Obligation]:
    result = await session.execute(
        select(Obligation)
        .where(Obligation.incident_id == incident_id)
        .order_by(Obligation.due_at, Obligation.id)
    )
    return list(result.scalars())


async def open_obligation(
    session: AsyncSession,
    spec: rules.ObligationSpec,
    *,
    org_id: str,
    division_codes: Iterable[str],
    at: datetime,
    incident_id: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
) -> Obligation:
    codes = list(division_codes)
    obligation = Obligation(
        id=new_id("obl"),
        kind=spec.kind.value,
        incident_id=incident_id,
        subject_type=subject_type,
        subject_id=subject_id,
        org_id=org_id,
        division_code=codes[0],
        article=spec.article,
        scale=spec.scale.value,
        created_at=at,
        due_at=spec.due_at,
        status=OPEN,
        calendar_estimated=spec.calendar_estimated,
        accountable=rules.escalates_to_accountability(spec.kind),
    )
    session.add(obligation)
    _add_timers(session, obligation, at)
    await session.flush()
    await log.append(
        session,
        "obligation.created",
        at=at,
        incident_id=incident_id,
        org_id=org_id,
        division_codes=codes,
        data={**view(obligation, at), "reason": spec.reason},
    )
    return obligation


def _add_timers(session: AsyncSession, obligation: Obligation, at: datetime) -> None:
    # A reminder whose moment has already passed at creation is not worth sending:
    # the breach timer still fires, late if it must.
    for name, fire_at in rules.reminder_times(
        (obligation.due_at, rules.Scale(obligation.scale)), windows, now=at
    ):
        session.add(
            ObligationTimer(
                id=new_id("tmr"), obligation_id=obligation.id, name=name, fire_at=fire_at
            )
        )
    session.add(
        ObligationTimer(
            id=new_id("tmr"), obligation_id=obligation.id, name="breach", fire_at=obligation.due_at
        )
    )


async def _reschedule(
    session: AsyncSession, obligation: Obligation, due_at: datetime, at: datetime
) -> None:
    obligation.due_at = due_at
    await session.execute(
        update(ObligationTimer)
        .where(ObligationTimer.obligation_id == obligation.id, ObligationTimer.fired_at.is_(None))
        .values(fired_at=at, late_seconds=None)
    )
    _add_timers(session, obligation, at)


async def reconcile_incident(session: AsyncSession, incident: Incident, *, at: datetime) -> None:
    """Make the incident's obligations match what its facts call for; idempotent."""
    wanted = {
        spec.kind.value: spec for spec in rules.incident_obligations(facts_of(incident), windows)
    }
    if incident.status == "active" and incident.level in (Level.I.value, Level.II.value):
        follow = rules.follow_up_due(
            last_publication_at=await _last_publication_at(session, incident.id),
            significant_change_at=incident.last_significant_change_at,
            windows=windows,
        )
        if follow is not None:
            wanted[follow.kind.value] = follow
    existing = await for_incident(session, incident.id)
    by_kind: dict[str, list[Obligation]] = {}
    for obligation in existing:
        by_kind.setdefault(obligation.kind, []).append(obligation)

    for kind, spec in wanted.items():
        rows = by_kind.get(kind, [])
        pending = [o for o in rows if o.status == OPEN]
        if kind == rules.ObligationKind.follow_up.value:
            # A follow-up is met by a publication after its clock started; the next one opens.
            if pending:
                if pending[0].due_at != spec.due_at:
                    await _reschedule(session, pending[0], spec.due_at, at)
                continue
            # Same facts, same due time: a follow-up already opened for this clock stays closed.
            if any(o.due_at == spec.due_at for o in rows):
                continue
        elif rows:
            if pending and pending[0].due_at != spec.due_at:
                await _reschedule(session, pending[0], spec.due_at, at)
            continue
        await open_obligation(
            session,
            spec,
            org_id=incident.responsible_org_id,
            division_codes=incident.division_codes,
            at=at,
            incident_id=incident.id,
        )

    for kind, rows in by_kind.items():
        if kind in wanted:
            continue
        for obligation in rows:
            if obligation.status == OPEN:
                reason = (
                    "incident closed"
                    if incident.status != "active"
                    else f"no longer applies at level {incident.level}"
                )
                await cancel(session, obligation, at=at, reason=reason)


async def _last_publication_at(session: AsyncSession, incident_id: str) -> datetime | None:
    from app.models.releases import Release  # releases depend on obligations, not the reverse

    result = await session.execute(
        select(Release.published_at)
        .where(Release.incident_id == incident_id, Release.published_at.is_not(None))
        .order_by(Release.published_at.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def move_open(session: AsyncSession, incident: Incident, org_id: str) -> None:
    """Responsibility moved: open obligations follow with their due times unchanged (RULES §2)."""
    await session.execute(
        update(Obligation)
        .where(Obligation.incident_id == incident.id, Obligation.status == OPEN)
        .values(org_id=org_id)
        .execution_options(synchronize_session="fetch")
    )


async def cancel(
    session: AsyncSession, obligation: Obligation, *, at: datetime, reason: str
) -> None:
    obligation.status = "cancelled"
    obligation.cancelled_at = at
    obligation.cancel_reason = reason
    await session.execute(
        update(ObligationTimer)
        .where(ObligationTimer.obligation_id == obligation.id, ObligationTimer.fired_at.is_(None))
        .values(fired_at=at)
    )
    await log.append(
        session,
        "obligation.cancelled",
        at=at,
        incident_id=obligation.incident_id,
        org_id=obligation.org_id,
        division_codes=[obligation.division_code],
        data={**view(obligation, at), "reason": reason},
    )


async def meet(session: AsyncSession, obligation: Obligation, *, at: datetime, by: str) -> None:
    """Met by the first qualifying act; a late act still records when it came (RULES §3)."""
    if obligation.status not in (OPEN, "breached") or obligation.met_at is not None:
        return
    obligation.status = "met"
    obligation.met_at = at
    obligation.met_by = by
    await session.execute(
        update(ObligationTimer)
        .where(ObligationTimer.obligation_id == obligation.id, ObligationTimer.fired_at.is_(None))
        .values(fired_at=at)
    )
    await log.append(
        session,
        "obligation.met",
        at=at,
        incident_id=obligation.incident_id,
        org_id=obligation.org_id,
        division_codes=[obligation.division_code],
        data=view(obligation, at),
    )


def view(obligation: Obligation, now: datetime) -> dict[str, Any]:
    """API.md <obligation>."""
    body: dict[str, Any] = {
        "id": obligation.id,
        "kind": obligation.kind,
        "incident_id": obligation.incident_id,
        "org_id": obligation.org_id,
        "due_at": iso(obligation.due_at),
        "status": obligation.status,
        "met_at": iso(obligation.met_at),
        "met_by": obligation.met_by,
        "breached_at": iso(obligation.breached_at),
        "article": obligation.article,
        "seconds_remaining": int((obligation.due_at - now).total_seconds()),
        "calendar_estimated": obligation.calendar_estimated,
    }
    if obligation.subject_type:
        body["subject"] = {"type": obligation.subject_type, "id": obligation.subject_id}
    if obligation.status == "cancelled":
        body["cancelled_at"] = iso(obligation.cancelled_at)
        body["cancel_reason"] = obligation.cancel_reason
    return body
