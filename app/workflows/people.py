"""Spokespersons and press assistants (Art. 7-9) and media interview requests (Art. 21).

Also what the other record-keeping workflows share: which organ an actor may act for,
and which organs it may see.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import directory
from app.auth import Principal
from app.clock import iso
from app.db import fetch
from app.errors import Problem, conflict, forbidden, invalid, not_found
from app.events import log
from app.ids import new_id
from app.models import Incident, Obligation, Org
from app.models.people import InterviewRequest, Spokesperson
from app.rules.calendar import SHANGHAI, local_date
from app.rules.obligations import ObligationKind
from app.rules.spokespersons import MAX_SPOKESPERSONS, posts_to_keep
from app.schemas.people import (
    InterviewAccept,
    InterviewCreate,
    InterviewDecline,
    SpokespersonCreate,
    SpokespersonRemove,
)
from app.views import org_ref
from app.workflows import obligations
from app.workflows.incidents import Context, get_visible

ROLE_LABELS = {
    "spokesperson": ("新闻发言人", "spokesperson"),
    "press_assistant": ("新闻发言人助理", "press assistant"),
}


# -- organs ------------------------------------------------------------------------------


def org_visible(org: Org, actor: Principal) -> bool:
    """RULES §6: an organ's records are seen within the jurisdiction that covers its division."""
    return org.id == actor.org_id or org.division_code in actor.jurisdiction


async def get_org_visible(
    session: AsyncSession, org_id: str, actor: Principal, *, what: str = "organ"
) -> Org:
    org = await session.get(Org, org_id)
    if org is None or not org_visible(org, actor):
        raise not_found(what)
    return org


async def acting_org(
    session: AsyncSession, org_id: str | None, actor: Principal, *, field: str = "org_id"
) -> Org:
    """The organ the actor records for: its own, or, for an information office or an admin,
    any organ in its jurisdiction (Art. 4: the office guides the work in its area)."""
    if org_id is None or org_id == actor.org_id:
        org = await session.get(Org, actor.org_id)
        if org is None:
            raise not_found("organ")
        return org
    org = await session.get(Org, org_id)
    if org is None or not org_visible(org, actor):
        raise invalid(field, f"unknown organ {org_id!r}")
    if not actor.has("info_office", "admin"):
        raise forbidden(f"{field}: only an information office records for another organ")
    return org


def may_act_for(org: Org, actor: Principal) -> bool:
    """The organ itself, or an information office / admin whose jurisdiction covers it."""
    return actor.org_id == org.id or (
        actor.has("info_office", "admin") and org.division_code in actor.jurisdiction
    )


# -- spokespersons -------------------------------------------------------------------------


def spokesperson_view(person: Spokesperson, org: Org | None = None) -> dict[str, Any]:
    zh, en = ROLE_LABELS[person.role]
    body: dict[str, Any] = {
        "id": person.id,
        "org_id": person.org_id,
        "role": person.role,
        "role_label": {"zh": zh, "en": en},
        "name": person.name,
        "title": person.title,
        "phone": person.phone,
        "appointed_on": person.appointed_on.isoformat(),
        "removed_on": person.removed_on.isoformat() if person.removed_on else None,
        "removal_reason": person.removal_reason,
        "serving": person.removed_on is None,
        "recorded_at": iso(person.recorded_at),
    }
    if org is not None:
        body["org"] = org_ref(org)
    return body


async def _serving(session: AsyncSession, org_id: str, role: str) -> list[Spokesperson]:
    rows = await session.execute(
        select(Spokesperson)
        .where(
            Spokesperson.org_id == org_id,
            Spokesperson.role == role,
            Spokesperson.removed_on.is_(None),
        )
        .order_by(Spokesperson.appointed_on, Spokesperson.id)
    )
    return list(rows.scalars())


async def _open_changes(
    session: AsyncSession, org_id: str, role: str
) -> list[tuple[Obligation, Spokesperson]]:
    """Unmet Art. 9 obligations of the organ left by the removal of someone in `role`, each
    with the person whose removal opened it."""
    rows = await session.execute(
        select(Obligation, Spokesperson)
        .join(Spokesperson, Spokesperson.id == Obligation.subject_id)
        .where(
            Obligation.kind == ObligationKind.spokesperson_change.value,
            Obligation.org_id == org_id,
            Obligation.subject_type == "spokesperson",
            Obligation.status.in_(("pending", "breached")),
            Obligation.met_at.is_(None),
            Spokesperson.role == role,
        )
        .order_by(Obligation.due_at)
    )
    return [(obligation, removed) for obligation, removed in rows.all()]


async def appoint(session: AsyncSession, body: SpokespersonCreate, ctx: Context) -> Spokesperson:
    """Art. 7-9: record an appointment; it is the adjustment an earlier removal asked for."""
    now = ctx.clock.now()
    org = await acting_org(session, body.org_id, ctx.actor)
    if body.appointed_on > local_date(now):
        raise invalid("appointed_on", "is in the future; record the appointment once decided")
    # Lock the organ's row (PostgreSQL) so two appointments at once cannot both pass the
    # Art. 8 count below; SQLite already lets one writer in at a time.
    await fetch(session, Org, org.id, for_update=True)
    serving = await _serving(session, org.id, body.role)
    if any(p.name == body.name for p in serving):
        raise conflict(
            "already-appointed", f"{body.name} already serves as {body.role} of {org.id}."
        )
    if body.role == "spokesperson" and len(serving) >= MAX_SPOKESPERSONS:
        raise Problem(
            422,
            "too-many-spokespersons",
            "Too many spokespersons",
            f"{org.id} already has {len(serving)} spokespersons; an organ has one or two "
            "(Art. 8). Record the removal of one first.",
            article="Art. 8",
            errors=[{"field": "role", "message": "at most two spokespersons serve at once"}],
        )
    person = Spokesperson(
        id=new_id("spk"),
        org_id=org.id,
        division_code=org.division_code,
        role=body.role,
        name=body.name,
        title=body.title,
        phone=body.phone,
        appointed_on=body.appointed_on,
        recorded_at=now,
    )
    session.add(person)
    await _record_person(
        session, person, org, "spokesperson.appointed", "spokesperson.appoint", ctx, now
    )
    # Art. 9: the successor's entry, now reported, is the adjustment a removal asked for.
    for obligation, removed in await _open_changes(session, org.id, body.role):
        if removed.removed_on and removed.removed_on <= body.appointed_on:
            await obligations.meet(session, obligation, at=now, by=person.id)
    return person


async def _record_person(
    session: AsyncSession,
    person: Spokesperson,
    org: Org,
    type_: str,
    action: str,
    ctx: Context,
    now: datetime,
    *,
    before: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """The change to the organ's roster as an event and its audit entry (Art. 9)."""
    await session.flush()
    view = spokesperson_view(person)
    await log.record(
        session,
        type_,
        action=action,
        entity_type="spokesperson",
        entity_id=person.id,
        at=now,
        actor=ctx.actor,
        org_id=org.id,
        division_codes=[org.division_code],
        data=view,
        before=before,
        after=view,
        reason=reason,
    )


class _OfOrgan(Protocol):
    @property
    def org_id(self) -> str: ...


R = TypeVar("R", bound=_OfOrgan)


async def _of_organ(
    session: AsyncSession,
    model: type[R],
    ident: str,
    actor: Principal,
    *,
    what: str,
    refusal: str,
) -> tuple[R, Org]:
    """A row that belongs to an organ, and the organ: 404 unless the actor sees the organ,
    403 (`refusal`, with {org}) unless the actor may act for it. The row stays locked
    (PostgreSQL) so that two instances cannot both find it undecided and both change it."""
    row = await fetch(session, model, ident, for_update=True)
    org = await session.get(Org, row.org_id) if row is not None else None
    if row is None or org is None or not org_visible(org, actor):
        raise not_found(what)
    if not may_act_for(org, actor):
        raise forbidden(refusal.format(org=org.id))
    return row, org


async def remove(
    session: AsyncSession, person_id: str, body: SpokespersonRemove, ctx: Context
) -> tuple[Spokesperson, Obligation]:
    """Art. 9: a removal is a personnel change; the organ adjusts and reports within a month."""
    now = ctx.clock.now()
    person, org = await _of_organ(
        session,
        Spokesperson,
        person_id,
        ctx.actor,
        what="spokesperson",
        refusal="Only {org} or its information office records this removal.",
    )
    if person.removed_on is not None:
        raise conflict("already-removed", f"{person.name} was removed on {person.removed_on}.")
    if body.removed_on < person.appointed_on:
        raise invalid("removed_on", f"is before the appointment on {person.appointed_on}")
    if body.removed_on > local_date(now):
        raise invalid("removed_on", "is in the future; record the removal once decided")
    before = spokesperson_view(person)
    person.removed_on = body.removed_on
    person.removal_reason = body.reason
    person.removal_recorded_at = now
    await _record_person(
        session,
        person,
        org,
        "spokesperson.removed",
        "spokesperson.remove",
        ctx,
        now,
        before=before,
        reason=body.reason,
    )
    # The change is dated by the removal decision, not by when it was typed in.
    changed_at = datetime.combine(body.removed_on, datetime.min.time(), tzinfo=SHANGHAI)
    obligation = await obligations.open_spokesperson_change(
        session, org.id, changed_at, subject_id=person.id, at=now
    )
    # A successor already on record (appointed that day or later) is the adjustment. So is
    # the removal itself when those still serving are all Art. 8 asks of the organ (a
    # department going from two spokespersons to one): the entry on record is the report.
    serving = [p for p in await _serving(session, org.id, person.role) if p.id != person.id]
    successors = [p for p in serving if p.appointed_on >= body.removed_on]
    level = directory.tree().get(org.division_code).level
    if successors:
        await obligations.meet(session, obligation, at=now, by=successors[0].id)
    elif len(serving) >= posts_to_keep(org.kind, level, person.role):
        await obligations.meet(session, obligation, at=now, by=person.id)
    return person, obligation


async def annual_list(
    session: AsyncSession, year: int, actor: Principal
) -> list[tuple[Org, Spokesperson]]:
    """Art. 9: everyone who served as spokesperson or press assistant during `year`,
    organ by organ, within the actor's jurisdiction."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    rows = await session.execute(
        select(Spokesperson, Org)
        .join(Org, Org.id == Spokesperson.org_id)
        .where(
            Spokesperson.appointed_on <= last,
            (Spokesperson.removed_on.is_(None)) | (Spokesperson.removed_on >= first),
        )
        .order_by(Org.division_code, Org.id, Spokesperson.role.desc(), Spokesperson.appointed_on)
    )
    return [(org, person) for person, org in rows.all() if org_visible(org, actor)]


async def listing(
    session: AsyncSession, actor: Principal, *, org_id: str | None, serving_only: bool
) -> list[tuple[Org, Spokesperson]]:
    stmt = select(Spokesperson, Org).join(Org, Org.id == Spokesperson.org_id)
    if org_id:
        await get_org_visible(session, org_id, actor)
        stmt = stmt.where(Spokesperson.org_id == org_id)
    if serving_only:
        stmt = stmt.where(Spokesperson.removed_on.is_(None))
    stmt = stmt.order_by(Org.division_code, Org.id, Spokesperson.appointed_on, Spokesperson.id)
    rows = await session.execute(stmt)
    return [(org, person) for person, org in rows.all() if org_visible(org, actor)]


ANNUAL_LIST_COLUMNS = (
    "org_id",
    "org_name_zh",
    "org_name_en",
    "division_code",
    "role",
    "name",
    "title",
    "phone",
    "appointed_on",
    "removed_on",
)


def annual_list_row(org: Org, person: Spokesperson) -> dict[str, Any]:
    return {
        "org_id": org.id,
        "org_name_zh": org.name_zh,
        "org_name_en": org.name_en,
        "division_code": org.division_code,
        "role": person.role,
        "name": person.name,
        "title": person.title,
        "phone": person.phone or "",
        "appointed_on": person.appointed_on.isoformat(),
        "removed_on": person.removed_on.isoformat() if person.removed_on else "",
    }


# -- interview requests ------------------------------------------------------------------


def interview_view(request: InterviewRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "org_id": request.org_id,
        "incident_id": request.incident_id,
        "reporter_name": request.reporter_name,
        "outlet": request.outlet,
        "press_card_number": request.press_card_number,
        "subject": request.subject,
        "requested_at": iso(request.requested_at),
        "status": request.status,
        "decided_at": iso(request.decided_at),
        "reason": request.reason,
        "interview_at": iso(request.interview_at),
    }


async def request_interview(
    session: AsyncSession, body: InterviewCreate, ctx: Context
) -> InterviewRequest:
    """Art. 21: an organ takes interview requests; the reporter's press card is on record."""
    now = ctx.clock.now()
    org = await acting_org(session, body.org_id, ctx.actor)
    requested = body.requested_at or now
    if requested > now + ctx.future_tolerance:
        raise invalid("requested_at", "is in the future")
    if requested < now - timedelta(days=366):
        raise invalid("requested_at", "is more than a year ago")
    incident: Incident | None = None
    if body.incident_id:
        incident = await get_visible(session, body.incident_id, ctx.actor)
    request = InterviewRequest(
        id=new_id("itv"),
        org_id=org.id,
        division_code=org.division_code,
        incident_id=incident.id if incident else None,
        reporter_name=body.reporter_name,
        outlet=body.outlet,
        press_card_number=body.press_card_number.upper(),
        subject=body.subject,
        requested_at=requested,
        status="pending",
        created_at=now,
    )
    session.add(request)
    await session.flush()
    await _interview_event(session, request, "interview.requested", ctx, now)
    return request


async def accept_interview(
    session: AsyncSession, request_id: str, body: InterviewAccept, ctx: Context
) -> InterviewRequest:
    return await _decide(
        session,
        request_id,
        "accepted",
        ctx,
        reason=body.note or None,
        interview_at=body.interview_at,
    )


async def decline_interview(
    session: AsyncSession, request_id: str, body: InterviewDecline, ctx: Context
) -> InterviewRequest:
    """Art. 39(2) holds to account refusing a lawful interview without cause: a reason."""
    return await _decide(session, request_id, "declined", ctx, reason=body.reason)


async def _decide(
    session: AsyncSession,
    request_id: str,
    status: str,
    ctx: Context,
    *,
    reason: str | None,
    interview_at: datetime | None = None,
) -> InterviewRequest:
    """The organ's answer to a pending request, once, by whoever may act for the organ."""
    now = ctx.clock.now()
    request, _ = await _of_organ(
        session,
        InterviewRequest,
        request_id,
        ctx.actor,
        what="interview request",
        refusal="Only {org} answers its interview requests.",
    )
    if request.status != "pending":
        raise conflict(
            "interview-decided", f"The request was already {request.status} ({request.reason})."
        )
    if interview_at is not None and abs(interview_at - now) > timedelta(days=366):
        raise invalid("interview_at", "is more than a year away from now")
    request.status = status
    request.decided_at = now
    request.decided_by_token = ctx.actor.token_id
    request.reason = reason
    request.interview_at = interview_at
    await _interview_event(session, request, f"interview.{status}", ctx, now)
    return request


async def _interview_event(
    session: AsyncSession, request: InterviewRequest, type_: str, ctx: Context, now: datetime
) -> None:
    await session.flush()
    view = interview_view(request)
    await log.record(
        session,
        type_,
        action=type_,
        entity_type="interview",
        entity_id=request.id,
        at=now,
        actor=ctx.actor,
        incident_id=request.incident_id,
        org_id=request.org_id,
        division_codes=[request.division_code],
        data=view,
        after=view,
        reason=request.reason,
    )


async def interviews(
    session: AsyncSession, actor: Principal, *, org_id: str | None, status: str | None
) -> list[InterviewRequest]:
    stmt = select(InterviewRequest).where(InterviewRequest.division_code.in_(actor.jurisdiction))
    if org_id:
        await get_org_visible(session, org_id, actor)
        stmt = stmt.where(InterviewRequest.org_id == org_id)
    if status:
        stmt = stmt.where(InterviewRequest.status == status)
    rows = await session.execute(stmt.order_by(InterviewRequest.requested_at))
    return list(rows.scalars())
