"""Press conferences (Art. 28-35): schedule, approve, file, prepare, hold, evaluate.

Each step loads the conference, asks `app.rules.conferences`, writes the new state with
its event and audit entry, and settles the obligations it touches (Art. 23 press
conference, Art. 29 routine conference, Art. 31 filing) in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import directory
from app.auth import Principal
from app.clock import iso
from app.db import fetch
from app.errors import Problem, conflict, forbidden, invalid, not_found
from app.events import log
from app.ids import new_id
from app.models import Incident, Obligation, Org, Release
from app.models.conferences import (
    ConferenceMaterial,
    ConferenceSpeaker,
    CoverageItem,
    PressConference,
)
from app.rules import conferences as rules
from app.rules.obligations import ObligationKind
from app.schemas.conferences import (
    ConferenceApproval,
    ConferenceCreate,
    ConferenceEvaluation,
    ConferenceHold,
    MaterialCreate,
)
from app.views import load_orgs
from app.workflows import obligations
from app.workflows.incidents import Context, get_visible
from app.workflows.people import may_act_for, org_visible

SUBJECT = "press_conference"
# Conferences are planned within the year; anything later is a typo.
HORIZON = timedelta(days=366)


# -- loading ---------------------------------------------------------------------------


def visible_to(conference: PressConference, actor: Principal) -> bool:
    return conference.host_org_id == actor.org_id or conference.division_code in actor.jurisdiction


async def get_visible_conference(
    session: AsyncSession, conference_id: str, actor: Principal, *, for_update: bool = False
) -> PressConference:
    conference = await fetch(session, PressConference, conference_id, for_update=for_update)
    if conference is None or not visible_to(conference, actor):
        raise not_found("press conference")
    return conference


async def _host(session: AsyncSession, conference: PressConference) -> Org:
    org = await session.get(Org, conference.host_org_id)
    assert org is not None  # a foreign key
    return org


async def _for_host(
    session: AsyncSession, conference_id: str, actor: Principal
) -> tuple[PressConference, Org]:
    """The conference, locked for a change only its host side makes, and its host."""
    conference = await get_visible_conference(session, conference_id, actor, for_update=True)
    host = await _host(session, conference)
    _require_host_side(host, actor)
    return conference, host


async def _require_materials(session: AsyncSession, conference: PressConference, verb: str) -> None:
    """Art. 33: the materials a conference is filed or held with."""
    missing = rules.missing_materials(m.kind for m in await _materials(session, conference.id))
    if missing:
        raise _missing_problem(missing, verb)


def _require_host_side(host: Org, actor: Principal) -> None:
    if not may_act_for(host, actor):
        raise forbidden(
            f"Only {host.id} (or the information office over it) prepares and holds "
            "this conference."
        )


def host_rules_view(org: Org) -> rules.Host:
    return rules.Host(kind=org.kind, division_level=directory.tree().get(org.division_code).level)


async def _materials(session: AsyncSession, conference_id: str) -> list[ConferenceMaterial]:
    rows = await session.execute(
        select(ConferenceMaterial)
        .where(ConferenceMaterial.conference_id == conference_id)
        .order_by(ConferenceMaterial.position)
    )
    return list(rows.scalars())


async def _count(
    session: AsyncSession, model: type[ConferenceMaterial] | type[CoverageItem], conference_id: str
) -> int:
    """How many rows the conference has already: the next one's position follows them."""
    return (
        await session.scalar(
            select(func.count()).select_from(model).where(model.conference_id == conference_id)
        )
    ) or 0


def _missing_problem(missing: Sequence[rules.MaterialKind], action: str) -> Problem:
    names = ", ".join(rules.MATERIAL_LABELS[m].en for m in missing)
    return Problem(
        422,
        "materials-missing",
        "Materials missing",
        f"Before it is {action}, a press conference needs its {names} (Art. 33).",
        article="Art. 33",
        errors=[
            {"field": f"materials.{m.value}", "message": f"no {rules.MATERIAL_LABELS[m].en} yet"}
            for m in missing
        ],
    )


# -- steps -----------------------------------------------------------------------------


async def schedule(session: AsyncSession, body: ConferenceCreate, ctx: Context) -> PressConference:
    now = ctx.clock.now()
    host = await session.get(Org, body.host_org_id)
    if host is None or not org_visible(host, ctx.actor):
        raise invalid("host_org_id", f"unknown organ {body.host_org_id!r}")
    _require_host_side(host, ctx.actor)
    try:
        rules.check_rostrum(len(body.speakers))
    except rules.RostrumFull as exc:
        raise Problem(
            422,
            "rostrum-full",
            "Too many on the rostrum",
            str(exc),
            article="Art. 32",
            errors=[
                {
                    "field": f"speakers[{rules.MAX_ROSTRUM}]",
                    "message": f"at most {rules.MAX_ROSTRUM} people on the rostrum (Art. 32)",
                }
            ],
        ) from exc
    if body.scheduled_at < now - ctx.future_tolerance:
        raise invalid("scheduled_at", "is in the past; a conference is scheduled ahead")
    if body.scheduled_at > now + HORIZON:
        raise invalid("scheduled_at", "is more than a year ahead")
    named = {s.org_id for s in body.speakers if s.org_id is not None}
    known = set(await session.scalars(select(Org.id).where(Org.id.in_(named)))) if named else set()
    for i, speaker in enumerate(body.speakers):
        if speaker.org_id is not None and speaker.org_id not in known:
            raise invalid(f"speakers[{i}].org_id", f"unknown organ {speaker.org_id!r}")
    incident: Incident | None = None
    if body.incident_id is not None:
        incident = await get_visible(session, body.incident_id, ctx.actor)

    seen = host_rules_view(host)
    approval = rules.approval_needed(seen, major_matter=body.major_matter)
    filing = rules.filing_needed(seen, significant=body.significant, emergency=incident is not None)
    conference = PressConference(
        id=new_id("pcf"),
        incident_id=incident.id if incident else None,
        host_org_id=host.id,
        division_code=host.division_code,
        title=body.title,
        venue=body.venue,
        scheduled_at=body.scheduled_at,
        significant=body.significant,
        major_matter=body.major_matter,
        status="scheduled",
        approval_required=approval.needed,
        approval_article=approval.article,
        filing_required=filing.needed,
        filing_article=filing.article,
        created_at=now,
        created_by_org=ctx.actor.org_id,
    )
    session.add(conference)
    await session.flush()
    for i, speaker in enumerate(body.speakers):
        session.add(
            ConferenceSpeaker(
                id=new_id("seat"),
                conference_id=conference.id,
                position=i + 1,
                name=speaker.name,
                title=speaker.title,
                org_id=speaker.org_id,
            )
        )
    await session.flush()
    view = await conference_view(session, conference, now)
    await _event(session, conference, "conference.scheduled", ctx, now, view, incident=incident)
    if filing.needed:
        # Art. 31(2)-(3): filed with the provincial information office 5 working days ahead.
        await obligations.open_conference_filing(
            session,
            conference_id=conference.id,
            org_id=host.id,
            conference_at=conference.scheduled_at,
            at=now,
            by_prefecture=filing.article == "Art. 31(3)",
        )
    return conference


async def approve(
    session: AsyncSession, conference_id: str, body: ConferenceApproval, ctx: Context
) -> PressConference:
    """Art. 31(1): the deputy governor in charge approves; for a major matter, the governor."""
    now = ctx.clock.now()
    conference = await get_visible_conference(session, conference_id, ctx.actor, for_update=True)
    if not conference.approval_required:
        raise conflict(
            "approval-not-required",
            "Only the provincial government's conferences are approved (Art. 31(1)).",
        )
    if conference.approved_at is not None:
        raise conflict("already-approved", f"Approved at {iso(conference.approved_at)}.")
    if conference.status != "scheduled":
        raise conflict("conference-held", "The conference has already been held.")
    province_government = directory.government_id(directory.tree().province_code)
    if ctx.actor.org_id != province_government:
        raise forbidden(
            "A provincial-government conference is approved by the provincial government "
            "(its deputy governor in charge, or the governor).",
            article="Art. 31(1)",
        )
    if not rules.approver_suffices(body.approver_office, major_matter=conference.major_matter):
        raise Problem(
            422,
            "approver-insufficient",
            "Approval by the governor needed",
            "A major matter is approved by the governor, not the deputy governor (Art. 31(1)).",
            article="Art. 31(1)",
            errors=[{"field": "approver_office", "message": "a major matter needs the governor"}],
        )
    conference.approved_at = now
    conference.approver_office = body.approver_office.value
    conference.approver_name = body.approver_name
    conference.approved_by_token = ctx.actor.token_id
    await session.flush()
    view = await conference_view(session, conference, now)
    await _event(session, conference, "conference.approved", ctx, now, view, reason=body.note)
    return conference


async def add_material(
    session: AsyncSession, conference_id: str, body: MaterialCreate, ctx: Context
) -> PressConference:
    """Art. 33: press release, background and data index before; the texts after."""
    now = ctx.clock.now()
    conference, _ = await _for_host(session, conference_id, ctx.actor)
    if body.release_id is not None:
        release = await session.get(Release, body.release_id)
        owner = await session.get(Org, release.org_id) if release is not None else None
        if release is None or owner is None or not org_visible(owner, ctx.actor):
            raise invalid("release_id", f"unknown release {body.release_id!r}")
    material = ConferenceMaterial(
        id=new_id("mat"),
        conference_id=conference.id,
        position=await _count(session, ConferenceMaterial, conference.id) + 1,
        kind=body.kind.value,
        title=body.title,
        body=body.body,
        url=body.url,
        release_id=body.release_id,
        added_at=now,
        added_by_org=ctx.actor.org_id,
    )
    session.add(material)
    await session.flush()
    view = await conference_view(session, conference, now)
    await _event(
        session,
        conference,
        "conference.material_added",
        ctx,
        now,
        {**view, "material": material_view(material)},
    )
    return conference


async def file(session: AsyncSession, conference_id: str, ctx: Context) -> PressConference:
    """Art. 31(2)-(3): the materials go to the provincial information office for the record."""
    now = ctx.clock.now()
    conference, _ = await _for_host(session, conference_id, ctx.actor)
    if not conference.filing_required:
        raise conflict(
            "filing-not-required",
            "This conference is not one that Art. 31(2)-(3) asks to be filed.",
        )
    if conference.filed_at is not None:
        raise conflict("already-filed", f"Filed at {iso(conference.filed_at)}.")
    await _require_materials(session, conference, "filed")
    conference.filed_at = now
    await session.flush()
    await obligations.meet_for(
        session,
        ObligationKind.conference_filing,
        subject_type=SUBJECT,
        subject_id=conference.id,
        at=now,
        by=conference.id,
    )
    view = await conference_view(session, conference, now)
    await _event(session, conference, "conference.filed", ctx, now, view)
    return conference


async def hold(
    session: AsyncSession, conference_id: str, body: ConferenceHold, ctx: Context
) -> PressConference:
    """The conference took place: it meets Art. 23 for its incident and Art. 29 for its host."""
    now = ctx.clock.now()
    conference, host = await _for_host(session, conference_id, ctx.actor)
    if conference.status != "scheduled":
        raise conflict("conference-held", f"The conference was held at {iso(conference.held_at)}.")
    if conference.approval_required and conference.approved_at is None:
        raise Problem(
            409,
            "approval-required",
            "Approval required",
            "A provincial-government conference is held only after the deputy governor in "
            "charge (for a major matter, the governor) approves it (Art. 31(1)).",
            article="Art. 31(1)",
        )
    await _require_materials(session, conference, "held")
    conference.status = "held"
    conference.held_at = now
    await session.flush()
    if conference.incident_id is not None:
        # Its clocks are settled one writer at a time, as the incident workflows do.
        await fetch(session, Incident, conference.incident_id, for_update=True)
        # Art. 23: a press conference on an I/II incident within 24 hours.
        await obligations.meet_for(
            session,
            ObligationKind.press_conference,
            incident_id=conference.incident_id,
            at=now,
            by=conference.id,
        )
    # Art. 29: a department under the routine system holds one of its own each quarter.
    await obligations.meet_for(
        session, ObligationKind.routine_conference, org_id=host.id, at=now, by=conference.id
    )
    view = await conference_view(session, conference, now)
    await _event(session, conference, "conference.held", ctx, now, view, reason=body.note or None)
    return conference


async def evaluate(
    session: AsyncSession, conference_id: str, body: ConferenceEvaluation, ctx: Context
) -> PressConference:
    """Art. 35: after the conference the organ collects the coverage and evaluates the effect.
    Coverage keeps coming in, so evaluating again adds items and replaces the summary."""
    now = ctx.clock.now()
    conference, _ = await _for_host(session, conference_id, ctx.actor)
    if conference.status == "scheduled":
        raise conflict("conference-not-held", "A conference is evaluated after it is held.")
    for i, item in enumerate(body.coverage):
        if item.published_at is not None and item.published_at > now + ctx.future_tolerance:
            raise invalid(f"coverage[{i}].published_at", "is in the future")
        if item.published_at is not None and item.published_at < now - HORIZON:
            raise invalid(f"coverage[{i}].published_at", "is more than a year ago")
    recorded = await _count(session, CoverageItem, conference.id)
    for i, item in enumerate(body.coverage):
        session.add(
            CoverageItem(
                id=new_id("cov"),
                conference_id=conference.id,
                position=recorded + i + 1,
                outlet=item.outlet,
                medium=item.medium,
                title=item.title,
                url=item.url,
                published_at=item.published_at,
                tone=item.tone,
                reach=item.reach,
                recorded_at=now,
            )
        )
    conference.status = "evaluated"
    conference.evaluation_summary = body.summary
    conference.texts_provided = conference.texts_provided or body.texts_provided
    if conference.evaluated_at is None:
        conference.evaluated_at = now
    await session.flush()
    view = await conference_view(session, conference, now)
    await _event(session, conference, "conference.evaluated", ctx, now, view)
    return conference


# -- views and events ------------------------------------------------------------------------


def material_view(m: ConferenceMaterial) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "title": m.title,
        "body": m.body,
        "url": m.url,
        "release_id": m.release_id,
        "added_at": iso(m.added_at),
    }


def coverage_view(c: CoverageItem) -> dict[str, Any]:
    return {
        "id": c.id,
        "outlet": c.outlet,
        "medium": c.medium,
        "title": c.title,
        "url": c.url,
        "published_at": iso(c.published_at),
        "tone": c.tone,
        "reach": c.reach,
    }


async def conference_view(
    session: AsyncSession, conference: PressConference, now: datetime
) -> dict[str, Any]:
    return (await conference_views(session, [conference], now))[0]


async def conference_views(
    session: AsyncSession, conferences: Sequence[PressConference], now: datetime
) -> list[dict[str, Any]]:
    """Views of several conferences, their hosts, seats, materials, coverage and filing
    clocks loaded in one query each rather than once per conference."""
    if not conferences:
        return []
    ids = [c.id for c in conferences]
    hosts = await load_orgs(session, (c.host_org_id for c in conferences))
    speakers: dict[str, list[ConferenceSpeaker]] = {i: [] for i in ids}
    for s in (
        await session.execute(
            select(ConferenceSpeaker)
            .where(ConferenceSpeaker.conference_id.in_(ids))
            .order_by(ConferenceSpeaker.position)
        )
    ).scalars():
        speakers[s.conference_id].append(s)
    materials: dict[str, list[ConferenceMaterial]] = {i: [] for i in ids}
    for m in (
        await session.execute(
            select(ConferenceMaterial)
            .where(ConferenceMaterial.conference_id.in_(ids))
            .order_by(ConferenceMaterial.position)
        )
    ).scalars():
        materials[m.conference_id].append(m)
    coverage: dict[str, list[CoverageItem]] = {i: [] for i in ids}
    for c in (
        await session.execute(
            select(CoverageItem)
            .where(CoverageItem.conference_id.in_(ids))
            .order_by(CoverageItem.position)
        )
    ).scalars():
        coverage[c.conference_id].append(c)
    filings = {
        o.subject_id: o
        for o in (
            await session.execute(
                select(Obligation).where(
                    Obligation.kind == ObligationKind.conference_filing.value,
                    Obligation.subject_type == SUBJECT,
                    Obligation.subject_id.in_(ids),
                )
            )
        ).scalars()
    }
    return [
        _conference_view(
            c,
            hosts.get(c.host_org_id),
            speakers[c.id],
            materials[c.id],
            coverage[c.id],
            filings.get(c.id),
            now,
        )
        for c in conferences
    ]


def _conference_view(
    conference: PressConference,
    host: Org | None,
    speakers: Sequence[ConferenceSpeaker],
    materials: Sequence[ConferenceMaterial],
    coverage: Sequence[CoverageItem],
    filing_obligation: Obligation | None,
    now: datetime,
) -> dict[str, Any]:
    tones = {"positive": 0, "neutral": 0, "negative": 0}
    for c in coverage:
        tones[c.tone] = tones.get(c.tone, 0) + 1
    return {
        "id": conference.id,
        "incident_id": conference.incident_id,
        "title": conference.title,
        "venue": conference.venue,
        "scheduled_at": iso(conference.scheduled_at),
        "host_org": {
            "id": conference.host_org_id,
            "name_zh": host.name_zh if host else None,
            "name_en": host.name_en if host else None,
            "kind": host.kind if host else None,
        },
        "status": conference.status,
        "significant": conference.significant,
        "major_matter": conference.major_matter,
        "speakers": [
            {"position": s.position, "name": s.name, "title": s.title, "org_id": s.org_id}
            for s in speakers
        ],
        "approval": {
            "required": conference.approval_required,
            "article": conference.approval_article,
            "approver_required": (
                rules.required_approver(major_matter=conference.major_matter).value
                if conference.approval_required
                else None
            ),
            "approved_at": iso(conference.approved_at),
            "approver_office": conference.approver_office,
            "approver_name": conference.approver_name,
        },
        "filing": {
            "required": conference.filing_required,
            "article": conference.filing_article,
            "filed_at": iso(conference.filed_at),
            "obligation": (obligations.view(filing_obligation, now) if filing_obligation else None),
        },
        "materials": [material_view(m) for m in materials],
        "missing_materials": [m.value for m in rules.missing_materials(m.kind for m in materials)],
        "held_at": iso(conference.held_at),
        "evaluation": {
            "evaluated_at": iso(conference.evaluated_at),
            "summary": conference.evaluation_summary,
            "texts_provided": conference.texts_provided,
            "coverage": [coverage_view(c) for c in coverage],
            "coverage_by_tone": tones,
        },
        "created_at": iso(conference.created_at),
    }


async def _event(
    session: AsyncSession,
    conference: PressConference,
    type_: str,
    ctx: Context,
    now: datetime,
    data: dict[str, Any],
    *,
    incident: Incident | None = None,
    reason: str | None = None,
) -> None:
    codes = [conference.division_code]
    if conference.incident_id is not None:
        if incident is None:
            incident = await session.get(Incident, conference.incident_id)
        if incident is not None:
            codes += incident.division_codes
    await log.record(
        session,
        type_,
        action=type_,
        entity_type="press_conference",
        entity_id=conference.id,
        at=now,
        actor=ctx.actor,
        incident_id=conference.incident_id,
        org_id=conference.host_org_id,
        division_codes=codes,
        data=data,
        after={"status": conference.status, "held_at": iso(conference.held_at)},
        reason=reason,
    )


async def listing(
    session: AsyncSession,
    actor: Principal,
    *,
    org_id: str | None = None,
    incident_id: str | None = None,
    status: str | None = None,
) -> list[PressConference]:
    stmt = select(PressConference).where(
        PressConference.division_code.in_(actor.jurisdiction)
        | (PressConference.host_org_id == actor.org_id)
    )
    if org_id:
        stmt = stmt.where(PressConference.host_org_id == org_id)
    if incident_id:
        stmt = stmt.where(PressConference.incident_id == incident_id)
    if status:
        stmt = stmt.where(PressConference.status == status)
    rows = await session.execute(stmt.order_by(PressConference.scheduled_at, PressConference.id))
    return list(rows.scalars())
