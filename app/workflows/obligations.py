"""Obligations: opened from the rules, moved with responsibility, met, cancelled, fired.

The rows are the truth; the scheduler (app.scheduler) only finds their due timers and
calls `remind` / `breach` here for each timer it won with a conditional update.

Lock order on PostgreSQL, to stay clear of deadlocks with the incident workflows: the
incident row first (they take it FOR UPDATE before anything else), then its obligations,
then their timers; the event-order advisory lock comes with the first event appended.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app import directory
from app.clock import iso
from app.db import dialect_name, fetch
from app.errors import Problem, invalid
from app.events import log
from app.ids import new_id
from app.models import Event, Incident, Obligation, ObligationTimer, Org
from app.models.conferences import PressConference
from app.models.obligations import AccountabilityRecord
from app.rules import obligations as rules
from app.rules.calendar import local_date, start_of_quarter
from app.rules.levels import Category, Level
from app.rules.routing import information_office_above
from app.schemas.obligations import OwnItem

logger = logging.getLogger("fabu.obligations")

OPEN = "pending"
BREACH = "breach"
# Art. 39(1): failing to release in the prescribed time is a matter of accountability.
ACCOUNTABILITY_ARTICLE = "Art. 39(1)"

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
        due_reason=spec.reason,
        status=OPEN,
        calendar_estimated=spec.calendar_estimated,
        accountable=rules.escalates_to_accountability(spec.kind),
    )
    if spec.calendar_estimated:
        # The official calendar for that year is not out yet (or not in chinesecalendar):
        # Monday-Friday was assumed. Never fail for it; recompute once the package knows.
        about = incident_id or (f"{subject_type}:{subject_id}" if subject_type else org_id)
        logger.warning(
            "%s for %s due %s rests on an estimated calendar (Monday-Friday assumed)",
            spec.kind.value,
            about,
            iso(spec.due_at),
        )
    session.add(obligation)
    _add_timers(session, obligation, at)
    await log.append(
        session,
        "obligation.created",
        at=at,
        incident_id=incident_id,
        org_id=org_id,
        division_codes=codes,
        flush=False,
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
            id=new_id("tmr"), obligation_id=obligation.id, name=BREACH, fire_at=obligation.due_at
        )
    )


async def _spend_timers(
    session: AsyncSession, obligation_id: str, at: datetime, outcome: str
) -> None:
    """Timers the obligation no longer needs: spent without an event, never fired later."""
    await session.execute(
        update(ObligationTimer)
        .where(ObligationTimer.obligation_id == obligation_id, ObligationTimer.fired_at.is_(None))
        .values(fired_at=at, late_seconds=None, outcome=outcome)
        .execution_options(synchronize_session=False)
    )


async def _reschedule(
    session: AsyncSession, obligation: Obligation, spec: rules.ObligationSpec, at: datetime
) -> None:
    """A new due time for a pending obligation, announced so that countdowns follow it."""
    obligation.due_at = spec.due_at
    obligation.due_reason = spec.reason
    obligation.calendar_estimated = spec.calendar_estimated
    await _spend_timers(session, obligation.id, at, "rescheduled")
    _add_timers(session, obligation, at)
    await _announce(session, "obligation.rescheduled", obligation, at, reason=spec.reason)


async def reconcile_incident(
    session: AsyncSession, incident: Incident, *, at: datetime, new: bool = False
) -> list[Obligation]:
    """Make the incident's obligations match what its facts call for; idempotent.

    `new`: the incident was reported in this transaction, so it has no obligations and no
    publications yet and there is nothing to read back. Returns the obligations opened now,
    which for a new incident are all it has.
    """
    opened: list[Obligation] = []
    wanted = {
        spec.kind.value: spec for spec in rules.incident_obligations(facts_of(incident), windows)
    }
    if incident.status == "active" and incident.level in (Level.I.value, Level.II.value):
        follow = rules.follow_up_due(
            last_publication_at=None if new else await _last_publication_at(session, incident.id),
            significant_change_at=incident.last_significant_change_at,
            windows=windows,
        )
        if follow is not None:
            wanted[follow.kind.value] = follow
    existing = [] if new else await for_incident(session, incident.id)
    by_kind: dict[str, list[Obligation]] = {}
    for obligation in existing:
        by_kind.setdefault(obligation.kind, []).append(obligation)

    for kind, spec in wanted.items():
        rows = by_kind.get(kind, [])
        pending = [o for o in rows if o.status == OPEN]
        if pending:
            if pending[0].due_at != spec.due_at:
                await _reschedule(session, pending[0], spec, at)
            continue
        if kind == rules.ObligationKind.follow_up.value:
            # A follow-up is met by a publication after its clock started; the next one opens.
            # Same facts, same due time: a follow-up already opened for this clock stays closed.
            if any(o.due_at == spec.due_at and o.status != "cancelled" for o in rows):
                continue
        elif any(o.status != "cancelled" for o in rows):
            # Met or breached: done with. Only cancelled rows (a downgrade below II, then a
            # new rise) let the obligation open again, with the clock the facts now give.
            continue
        opened.append(
            await open_obligation(
                session,
                spec,
                org_id=incident.responsible_org_id,
                division_codes=incident.division_codes,
                at=at,
                incident_id=incident.id,
            )
        )

    for kind, rows in by_kind.items():
        if kind in wanted:
            continue
        for obligation in rows:
            if obligation.status == OPEN:
                if incident.status != "active":
                    reason = "incident closed"
                else:
                    reason = (
                        f"no longer applies: the incident is now level {incident.level} "
                        f"({obligation.article} needs the facts that opened it)"
                    )
                await cancel(session, obligation, at=at, reason=reason)
    return opened


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


async def _announce(
    session: AsyncSession, type_: str, obligation: Obligation, at: datetime, **extra: Any
) -> None:
    """The obligation's change as an event: its view as of `at`, and what else is said."""
    await log.append(
        session,
        type_,
        at=at,
        incident_id=obligation.incident_id,
        org_id=obligation.org_id,
        division_codes=[obligation.division_code],
        data={**view(obligation, at), **extra},
    )


async def cancel(
    session: AsyncSession, obligation: Obligation, *, at: datetime, reason: str
) -> None:
    obligation.status = "cancelled"
    obligation.cancelled_at = at
    obligation.cancel_reason = reason
    await _spend_timers(session, obligation.id, at, "cancelled")
    await _announce(session, "obligation.cancelled", obligation, at, reason=reason)


async def meet(session: AsyncSession, obligation: Obligation, *, at: datetime, by: str) -> None:
    """Met by the first qualifying act; a late act still records when it came (RULES §3)."""
    if obligation.status not in (OPEN, "breached") or obligation.met_at is not None:
        return
    was_breached = obligation.status == "breached"
    obligation.status = "met"
    obligation.met_at = at
    obligation.met_by = by
    await _spend_timers(session, obligation.id, at, "met")
    if was_breached:
        record = (
            await session.execute(
                select(AccountabilityRecord).where(
                    AccountabilityRecord.obligation_id == obligation.id
                )
            )
        ).scalar_one_or_none()
        if record is not None:
            record.met_at = at
            record.lateness_seconds = (at - obligation.due_at).total_seconds()
    await _announce(
        session,
        "obligation.met",
        obligation,
        at,
        late=was_breached,
        late_seconds=max(0.0, (at - obligation.due_at).total_seconds()),
    )


async def meet_for(
    session: AsyncSession,
    kind: rules.ObligationKind | str,
    *,
    incident_id: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    org_id: str | None = None,
    at: datetime,
    by: str,
) -> list[Obligation]:
    """Meet the open obligations of `kind` that the act at `at` answers; returns them.

    Open means pending, or breached and not yet met (a late act is still recorded). Give
    whichever of incident / subject / organ identifies what the act was about. A routine
    conference (Art. 29) only answers the quarter it was held in. Incident workflows call
    this with the incident row already locked (get_visible(..., for_update=True)).
    """
    kind = rules.ObligationKind(kind)
    if incident_id is None and subject_id is None and org_id is None:
        raise ValueError("meet_for needs an incident, a subject or an organ")
    if kind == rules.ObligationKind.routine_conference and subject_id is None:
        subject_type, subject_id = ROUTINE_SUBJECT, quarter_label(at)
    stmt = select(Obligation).where(
        Obligation.kind == kind.value,
        or_(
            Obligation.status == OPEN,
            (Obligation.status == "breached") & Obligation.met_at.is_(None),
        ),
    )
    if incident_id is not None:
        stmt = stmt.where(Obligation.incident_id == incident_id)
    if subject_type is not None:
        stmt = stmt.where(Obligation.subject_type == subject_type)
    if subject_id is not None:
        stmt = stmt.where(Obligation.subject_id == subject_id)
    if org_id is not None:
        stmt = stmt.where(Obligation.org_id == org_id)
    stmt = stmt.order_by(Obligation.id)
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update()
    rows = list((await session.execute(stmt)).scalars())
    for obligation in rows:
        await meet(session, obligation, at=at, by=by)
    return rows


# -- obligations that are not about an incident (RULES §3, rows 6-10) ----------------------


async def find_for_subject(
    session: AsyncSession,
    kind: rules.ObligationKind,
    *,
    subject_type: str,
    subject_id: str,
    org_id: str | None = None,
) -> Obligation | None:
    """The live (not cancelled) obligation of this kind about this subject, if any.

    `org_id` scopes subjects an organ names itself (its own document or case numbers),
    which another organ may well reuse.
    """
    stmt = select(Obligation).where(
        Obligation.kind == kind.value,
        Obligation.subject_type == subject_type,
        Obligation.subject_id == subject_id,
        Obligation.status != "cancelled",
    )
    if org_id is not None:
        stmt = stmt.where(Obligation.org_id == org_id)
    stmt = stmt.order_by(Obligation.created_at.desc(), Obligation.id.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _subject_clock(
    session: AsyncSession,
    kind: rules.ObligationKind,
    *,
    org_id: str,
    subject_type: str,
    subject_id: str,
    per_org: bool,
) -> tuple[Org, Obligation | None]:
    """The owing organ, its row locked, and the live obligation of this kind about the subject.

    The lock (PostgreSQL) serialises openings for the organ's subjects: two requests at
    once must not both find nothing and open two clocks. Hold it until commit.
    """
    org = await fetch(session, Org, org_id, for_update=True)
    if org is None:
        raise ValueError(f"unknown organ {org_id!r}")
    existing = await find_for_subject(
        session,
        kind,
        subject_type=subject_type,
        subject_id=subject_id,
        org_id=org_id if per_org else None,
    )
    return org, existing


async def _open_for_org(
    session: AsyncSession,
    spec: rules.ObligationSpec,
    org: Org,
    *,
    subject_type: str,
    subject_id: str,
    at: datetime,
) -> Obligation:
    """An obligation an organ owes about something other than an incident: it sits in the
    organ's own division, where its jurisdiction and the information office above look."""
    return await open_obligation(
        session,
        spec,
        org_id=org.id,
        division_codes=[org.division_code],
        at=at,
        subject_type=subject_type,
        subject_id=subject_id,
    )


async def _keep_or_open(
    session: AsyncSession,
    spec: rules.ObligationSpec,
    org: Org,
    existing: Obligation | None,
    *,
    subject_type: str,
    subject_id: str,
    at: datetime,
) -> Obligation:
    """The same facts again change nothing; a new due time (a conference moved) reschedules
    a pending obligation. A met, breached or cancelled one is left alone."""
    if existing is None:
        return await _open_for_org(
            session, spec, org, subject_type=subject_type, subject_id=subject_id, at=at
        )
    if existing.status == OPEN and existing.due_at != spec.due_at:
        await _reschedule(session, existing, spec, at)
    return existing


async def _open_for_subject(
    session: AsyncSession,
    spec: rules.ObligationSpec,
    *,
    org_id: str,
    subject_type: str,
    subject_id: str,
    at: datetime,
    per_org: bool = False,
) -> Obligation:
    """Open, or bring up to date, the one obligation of this kind about this subject."""
    org, existing = await _subject_clock(
        session,
        spec.kind,
        org_id=org_id,
        subject_type=subject_type,
        subject_id=subject_id,
        per_org=per_org,
    )
    return await _keep_or_open(
        session, spec, org, existing, subject_type=subject_type, subject_id=subject_id, at=at
    )


async def open_regular_info(
    session: AsyncSession, org_id: str, reviewed_at: datetime, *, subject_id: str, at: datetime
) -> Obligation:
    """Art. 20: an item of regular government information passed production and review."""
    spec = rules.regular_info_due(reviewed_at, windows)
    return await _open_for_subject(
        session,
        spec,
        org_id=org_id,
        subject_type="regular_info",
        subject_id=subject_id,
        at=at,
        per_org=True,
    )


async def open_media_supervision(
    session: AsyncSession, org_id: str, registered_at: datetime, *, subject_id: str, at: datetime
) -> Obligation:
    """Art. 20: a matter raised by media supervision was registered; its result is owed."""
    spec = rules.media_supervision_due(registered_at, windows)
    return await _open_for_subject(
        session,
        spec,
        org_id=org_id,
        subject_type="media_supervision",
        subject_id=subject_id,
        at=at,
        per_org=True,
    )


# Art. 20: the items an organ registers itself, and the rule that gives each its due time.
_OWN_ITEMS = {
    rules.ObligationKind.regular_info: rules.regular_info_due,
    rules.ObligationKind.media_supervision: rules.media_supervision_due,
}


async def register_own_item(
    session: AsyncSession, item: OwnItem, org_id: str, *, at: datetime
) -> tuple[Obligation, bool]:
    """Art. 20: an organ registers an item it owes a release on (regular information that
    passed review, a media-supervision matter). The same facts again change nothing; a
    corrected time may bring the due time forward, never push it back, since the organ
    answers for the deadline (Art. 39). Returns the obligation and whether it opened now."""
    when = item.happened_at() or at
    if when > at:
        raise invalid(
            item.time_field, "lies in the future; give the time it happened", article="Art. 20"
        )
    spec = _OWN_ITEMS[item.kind](when, windows)
    subject_type, subject_id = item.kind.value, item.subject_id
    org, existing = await _subject_clock(
        session,
        item.kind,
        org_id=org_id,
        subject_type=subject_type,
        subject_id=subject_id,
        per_org=True,
    )
    if existing is not None and existing.status == OPEN and spec.due_at > existing.due_at:
        raise Problem(
            409,
            "deadline-postponed",
            "An Art. 20 deadline is not moved later",
            f"{item.subject_id} is owed by {iso(existing.due_at)}; a later "
            f"{item.time_field} would push that back, and the organ answers for it "
            "(Art. 20, 39). Only an earlier time is taken as a correction.",
            article="Art. 20",
            errors=[{"field": item.time_field, "message": "later than the time registered"}],
            extra={"obligation_id": existing.id, "due_at": iso(existing.due_at)},
        )
    row = await _keep_or_open(
        session, spec, org, existing, subject_type=subject_type, subject_id=subject_id, at=at
    )
    return row, existing is None


async def open_conference_filing(
    session: AsyncSession,
    *,
    conference_id: str,
    org_id: str,
    conference_at: datetime,
    at: datetime,
    by_prefecture: bool = False,
) -> Obligation:
    """Art. 31(2) (a department) or 31(3) (a prefecture's significant one): file 5 working
    days ahead with the provincial information office. Call again when the conference moves."""
    spec = rules.conference_filing_due(conference_at, windows, by_prefecture=by_prefecture)
    return await _open_for_subject(
        session,
        spec,
        org_id=org_id,
        subject_type="press_conference",
        subject_id=conference_id,
        at=at,
    )


async def open_spokesperson_change(
    session: AsyncSession, org_id: str, changed_at: datetime, *, subject_id: str, at: datetime
) -> Obligation:
    """Art. 9: a spokesperson or press assistant changed; report the entry within a month."""
    spec = rules.spokesperson_change_due(changed_at)
    return await _open_for_subject(
        session, spec, org_id=org_id, subject_type="spokesperson", subject_id=subject_id, at=at
    )


ROUTINE_SUBJECT = "quarter"


def quarter_label(at: datetime) -> str:
    """The Asia/Shanghai quarter containing `at`, e.g. "2026Q4"."""
    d = local_date(at)
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


async def open_routine_conferences(session: AsyncSession, at: datetime) -> list[Obligation]:
    """Art. 29: each department under the routine release system owes a conference each
    quarter. Opens the current quarter's for every such department that lacks one; running
    it again in the same quarter opens nothing. Returns what it opened."""
    label = quarter_label(at)
    departments = (
        await session.execute(select(Org).where(Org.routine_release.is_(True)).order_by(Org.id))
    ).scalars()
    have = set(
        (
            await session.execute(
                select(Obligation.org_id).where(
                    Obligation.kind == rules.ObligationKind.routine_conference.value,
                    Obligation.subject_type == ROUTINE_SUBJECT,
                    Obligation.subject_id == label,
                )
            )
        ).scalars()
    )
    lacking = [org for org in departments if org.id not in have]
    if not lacking:
        return []  # the usual case: the scheduler calls this on every safety-net pass
    # A conference held this quarter before its obligation was opened (the scheduler was
    # down on the first day, or the department was just put under the system) still counts.
    held: dict[str, tuple[str, datetime]] = {}
    rows = await session.execute(
        select(PressConference.host_org_id, PressConference.id, PressConference.held_at)
        .where(
            PressConference.host_org_id.in_([org.id for org in lacking]),
            PressConference.held_at >= start_of_quarter(at),
            PressConference.held_at <= at,
        )
        .order_by(PressConference.held_at)
    )
    for host, conference_id, held_at in rows:
        if held_at is not None:  # the filter above already says so; for the type
            held.setdefault(host, (conference_id, held_at))
    spec = rules.routine_conference_due(at)
    opened = []
    for org in lacking:
        obligation = await _open_for_org(
            session, spec, org, subject_type=ROUTINE_SUBJECT, subject_id=label, at=at
        )
        if org.id in held:
            conference_id, held_at = held[org.id]
            await meet(session, obligation, at=held_at, by=conference_id)
        opened.append(obligation)
    return opened


# -- firing: what each timer the scheduler won writes (app.scheduler.firing batches it) --------


@dataclass(frozen=True)
class NewEvent:
    """An event to append, in the caller's transaction."""

    type: str
    at: datetime
    data: dict[str, Any]
    incident_id: str | None
    org_id: str | None
    division_codes: Sequence[str]


def _lateness(late_seconds: float, late_after: float) -> dict[str, Any]:
    return {"late": late_seconds > late_after, "late_seconds": round(late_seconds, 3)}


def reminder_event(
    obligation: Obligation,
    *,
    reminder: str,
    fire_at: datetime,
    at: datetime,
    late_seconds: float,
    division_codes: Sequence[str],
    late_after: float = 1.0,
) -> NewEvent:
    """RULES §3: a reminder before the due time, addressed to the responsible organ."""
    return NewEvent(
        "obligation.reminder",
        at,
        {
            **view(obligation, at),
            "reminder": reminder,
            "fire_at": iso(fire_at),
            "to_org_id": obligation.org_id,
            **_lateness(late_seconds, late_after),
        },
        obligation.incident_id,
        obligation.org_id,
        division_codes,
    )


def escalation_target(obligation: Obligation, org_division_code: str) -> str | None:
    """Where a breach goes: the information office one level up from the responsible
    organ's division (county → prefecture → province; the province and its departments
    stay with the provincial office). None for a kind that is only flagged (follow-up:
    Art. 23 permits follow-ups rather than setting them a time, so no Art. 39 matter)."""
    if not obligation.accountable:
        return None
    return directory.information_office_id(
        information_office_above(org_division_code, directory.tree())
    )


def mark_breached(obligation: Obligation, *, at: datetime, target: str | None) -> None:
    """Mirror in the loaded object what the conditional UPDATE wrote, without another UPDATE."""
    set_committed_value(obligation, "status", "breached")
    set_committed_value(obligation, "breached_at", at)
    set_committed_value(obligation, "escalated_to_org_id", target)


def breach_events(
    obligation: Obligation,
    *,
    at: datetime,
    target: str | None,
    late_seconds: float,
    division_codes: Sequence[str],
    late_after: float = 1.0,
) -> list[NewEvent]:
    """RULES §3 at the due time, unmet: `obligation.breached`, and for an accountable kind
    `escalation.raised` addressed to the information office one level up."""
    lateness = _lateness(late_seconds, late_after)
    out = [
        NewEvent(
            "obligation.breached",
            at,
            {**view(obligation, at), **lateness, "escalated_to_org_id": target},
            obligation.incident_id,
            obligation.org_id,
            division_codes,
        )
    ]
    if target is not None:
        out.append(
            NewEvent(
                "escalation.raised",
                at,
                {
                    "to": "information_office",
                    "to_org_id": target,
                    "from_org_id": obligation.org_id,
                    "obligation_id": obligation.id,
                    "kind": obligation.kind,
                    "article": obligation.article,
                    "due_at": iso(obligation.due_at),
                    "breached_at": iso(at),
                    "reason": (
                        f"{obligation.kind} ({obligation.article}) owed by "
                        f"{obligation.org_id} was not met by {iso(obligation.due_at)}"
                    ),
                    **lateness,
                },
                obligation.incident_id,
                target,
                division_codes,
            )
        )
    return out


def breach_audit(
    session: AsyncSession, obligation: Obligation, *, at: datetime, event: Event
) -> None:
    """The system's own act, on the record beside the breach event."""
    log.audit(
        session,
        at=at,
        actor=None,
        action="obligation.breach",
        entity_type="obligation",
        entity_id=obligation.id,
        incident_id=obligation.incident_id,
        before={"status": OPEN},
        after={
            "status": "breached",
            "breached_at": iso(at),
            "escalated_to_org_id": obligation.escalated_to_org_id,
        },
        reason=f"due {iso(obligation.due_at)} passed unmet ({obligation.article})",
        event=event,
    )


def accountability_record(
    obligation: Obligation, *, at: datetime, target: str, late_seconds: float
) -> AccountabilityRecord:
    """Art. 39(1): the record a breach of an accountable obligation opens."""
    return AccountabilityRecord(
        id=new_id("acc"),
        obligation_id=obligation.id,
        incident_id=obligation.incident_id,
        org_id=obligation.org_id,
        division_code=obligation.division_code,
        kind=obligation.kind,
        obligation_article=obligation.article,
        article=ACCOUNTABILITY_ARTICLE,
        due_at=obligation.due_at,
        breached_at=at,
        detected_late_seconds=round(late_seconds, 3),
        escalated_to_org_id=target,
    )


async def accountability_for(
    session: AsyncSession, *, incident_id: str | None = None, org_id: str | None = None
) -> list[AccountabilityRecord]:
    """Art. 39(1) records, oldest breach first (for the accountability timeline, issue 7)."""
    stmt = select(AccountabilityRecord)
    if incident_id is not None:
        stmt = stmt.where(AccountabilityRecord.incident_id == incident_id)
    if org_id is not None:
        stmt = stmt.where(AccountabilityRecord.org_id == org_id)
    rows = await session.execute(
        stmt.order_by(AccountabilityRecord.breached_at, AccountabilityRecord.id)
    )
    return list(rows.scalars())


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
        "due_reason": obligation.due_reason,
    }
    if obligation.subject_type:
        body["subject"] = {"type": obligation.subject_type, "id": obligation.subject_id}
    if obligation.escalated_to_org_id:
        body["escalated_to_org_id"] = obligation.escalated_to_org_id
    if obligation.status == "cancelled":
        body["cancelled_at"] = iso(obligation.cancelled_at)
        body["cancel_reason"] = obligation.cancel_reason
    return body
