"""Incident lifecycle: intake, situation reports, command, escalation, override, close.

Each step loads the incident, asks the rules, writes the new state with its audit entry
and event, and leaves the commit to the caller's unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app import directory, group_commit, idempotency
from app.auth import Principal
from app.clock import Clock, iso
from app.db import fetch
from app.errors import Problem, conflict, invalid, not_found
from app.events import log
from app.ids import new_id
from app.models import (
    Incident,
    IncidentDivision,
    Obligation,
    Org,
    ResponsibilityChange,
    SituationReport,
)
from app.rules import classification as rules_classification
from app.rules import routing as rules_routing
from app.rules.levels import Category, Level, at_least, max_level, rank
from app.rules.thresholds import FIGURE_NAMES, SUBTYPES, UnknownSubtype, resolve_subtype
from app.schemas.incidents import (
    ClassificationOverride,
    CommandAction,
    IncidentCreate,
    SituationReportCreate,
)
from app.workflows import obligations

# Figures whose change is "significant" for the follow-up clock (Art. 23 follow-up releases).
CASUALTY_FIGURES = ("deaths", "missing", "serious_injuries", "injuries", "trapped")


@dataclass(frozen=True)
class Context:
    """Who acts, and when."""

    actor: Principal
    clock: Clock
    future_tolerance: timedelta = timedelta(minutes=5)


# -- loading ---------------------------------------------------------------------------


async def get_visible(
    session: AsyncSession, incident_id: str, actor: Principal, *, for_update: bool = False
) -> Incident:
    """The incident if the actor's jurisdiction covers it; 404 otherwise (API.md, Auth)."""
    incident = await fetch(session, Incident, incident_id, for_update=for_update)
    if incident is None or not visible_to(incident, actor):
        raise not_found("incident")
    return incident


def visible_to(incident: Incident, actor: Principal) -> bool:
    return (
        actor.sees_any(incident.division_codes)
        or actor.org_id == incident.responsible_org_id
        or actor.org_id in incident.co_signer_ids
        or actor.org_id == incident.on_site_command_id
    )


# -- validation --------------------------------------------------------------------------


def _check_divisions(codes: list[str], actor: Principal) -> list[str]:
    seen: list[str] = []
    for i, code in enumerate(codes):
        directory.check_division(code, f"division_codes[{i}]")
        if code not in actor.jurisdiction:
            raise Problem(
                403,
                "outside-jurisdiction",
                "Outside jurisdiction",
                f"division_codes[{i}]: {code} is outside your organ's jurisdiction.",
                errors=[{"field": f"division_codes[{i}]", "message": "outside your jurisdiction"}],
            )
        if code not in seen:
            seen.append(code)
    return seen


def _check_figures(figures: dict[str, int]) -> dict[str, int]:
    for name in figures:
        if name not in FIGURE_NAMES:
            raise invalid(
                f"figures.{name}", "unknown figure; known: " + ", ".join(sorted(FIGURE_NAMES))
            )
    return dict(figures)


def _check_subtype(category: Category, subtype: str | None) -> str:
    try:
        return resolve_subtype(category, subtype)
    except UnknownSubtype:
        known = ", ".join(sorted(SUBTYPES[category]))
        raise invalid(
            "subtype", f"unknown subtype {subtype!r} for {category.value}; known: {known}"
        ) from None


def _check_times(
    occurred: datetime, reported: datetime, now: datetime, tolerance: timedelta
) -> None:
    if occurred > now + tolerance:
        raise invalid(
            "occurred_at", f"is more than {int(tolerance.total_seconds())} s in the future"
        )
    if reported > now + tolerance:
        raise invalid(
            "reported_at", f"is more than {int(tolerance.total_seconds())} s in the future"
        )
    if reported < occurred:
        raise invalid("reported_at", "is before occurred_at")


def _classify(
    category: Category,
    subtype: str,
    figures: dict[str, int],
    asserted_level: Level | None,
    asserted_basis: str | None,
    criteria: list[str],
) -> rules_classification.Classification:
    # RULES §1: an asserted level stands only on a written basis, and a basis needs a level.
    if asserted_level is not None and not (asserted_basis or "").strip():
        raise invalid("asserted_basis", "an asserted level needs a written basis")
    if asserted_level is None and asserted_basis is not None:
        raise invalid("asserted_level", "a basis was given without an asserted level")
    try:
        return rules_classification.classify(
            category,
            subtype,
            figures,
            asserted_level=asserted_level,
            asserted_basis=asserted_basis,
            criteria=criteria,
        )
    except rules_classification.UnknownCriterion as exc:
        raise invalid("criteria", str(exc)) from exc


def _basis(result: rules_classification.Classification) -> list[dict[str, Any]]:
    return [
        {"criterion": b.criterion, "value": b.value, "level": b.level.value, "source": b.source}
        for b in result.basis
    ]


def _mark_known(incident: Incident, level: Level, at: datetime) -> None:
    """RULES §3: known(L) is when facts first put the incident at L or above; never moves."""
    known = dict(incident.level_known_at or {})
    for candidate in Level:
        if at_least(level, candidate) and candidate.value not in known:
            known[candidate.value] = iso(at)
    incident.level_known_at = known


# -- responsibility ------------------------------------------------------------------------


class ResponsibleOrgans(NamedTuple):
    answer: rules_routing.Responsibility  # the rule's answer, by organ reference
    org_id: str
    co_signer_ids: list[str]


def responsible_organs(incident: Incident) -> ResponsibleOrgans:
    """Who releases for the incident as it stands (Art. 22, 25), as organ ids."""
    answer = rules_routing.route(
        category=Category(incident.category),
        subtype=incident.subtype,
        level=Level(incident.level),
        division_codes=incident.division_codes,
        on_site_command_active=incident.on_site_command_active,
        escalated=incident.escalated,
        tree=directory.tree(),
    )
    org_id = directory.org_id_for(answer.org, on_site_command_id=incident.on_site_command_id)
    co_signers = [
        directory.org_id_for(ref, on_site_command_id=incident.on_site_command_id)
        for ref in answer.co_signers
    ]
    return ResponsibleOrgans(answer, org_id, [c for c in co_signers if c != org_id])


async def route(session: AsyncSession, incident: Incident, *, at: datetime, cause: str) -> bool:
    """Recompute the responsible organ (Art. 22, 25); record and announce a change."""
    answer, org_id, co_signer_ids = responsible_organs(incident)
    previous: str | None = incident.responsible_org_id  # None until first routed
    incident.co_signer_ids = co_signer_ids
    if previous == org_id:
        return False
    incident.responsible_org_id = org_id
    incident.responsible_kind = answer.kind.value
    session.add(
        ResponsibilityChange(
            id=new_id("rsp"),
            incident_id=incident.id,
            at=at,
            from_org_id=previous,
            to_org_id=org_id,
            kind=answer.kind.value,
            cause=f"{cause}; {answer.reason}",
        )
    )
    if previous is not None:
        await obligations.move_open(session, incident, org_id)
        await log.append(
            session,
            "incident.responsibility_changed",
            at=at,
            incident_id=incident.id,
            org_id=org_id,
            division_codes=incident.division_codes,
            data={
                "from_org_id": previous,
                "to_org_id": org_id,
                "kind": answer.kind.value,
                "cause": cause,
                "reason": answer.reason,
            },
        )
    return True


# -- steps -----------------------------------------------------------------------------------


class Intake(NamedTuple):
    incident: Incident
    created: bool
    # A new incident's obligations (all opened now); None when an earlier intake is replayed.
    obligations: list[Obligation] | None


@dataclass(frozen=True)
class Checked:
    """An intake body that passed every check and has its level: ready to be stored."""

    body: IncidentCreate
    digest: str
    codes: list[str]
    subtype: str
    figures: dict[str, int]
    classification: rules_classification.Classification


def check(body: IncidentCreate, ctx: Context) -> Checked:
    """Validate and classify an intake without touching the database (RULES §1)."""
    now = ctx.clock.now()
    codes = _check_divisions(body.division_codes, ctx.actor)
    subtype = _check_subtype(body.category, body.subtype)
    figures = _check_figures(body.figures)
    reported = body.reported_at or now
    _check_times(body.occurred_at, reported, now, ctx.future_tolerance)
    result = _classify(
        body.category, subtype, figures, body.asserted_level, body.asserted_basis, body.criteria
    )
    digest = idempotency.digest(body.model_dump(mode="json"))
    return Checked(body, digest, codes, subtype, figures, result)


def new_incident(checked: Checked, ctx: Context, now: datetime) -> Incident:
    """The incident a checked intake describes, not yet routed or added to any session."""
    body, codes, result = checked.body, checked.codes, checked.classification
    # Without a reported_at the report is as of now: the moment of storing, which every
    # clock of this intake (reminders, known-at marks, events) shares.
    reported = body.reported_at or now
    tree = directory.tree()
    incident = Incident(
        id=new_id("inc"),
        category=body.category.value,
        subtype=checked.subtype,
        title=body.title,
        description=body.description,
        place=body.place,
        location=body.location.model_dump() if body.location else None,
        status="active",
        occurred_at=body.occurred_at,
        reported_at=reported,
        created_at=now,
        division_codes=codes,
        prefecture_code=tree.prefecture_of(codes[0]),
        figures=checked.figures,
        criteria=list(body.criteria),
        asserted_level=body.asserted_level.value if body.asserted_level else None,
        asserted_basis=body.asserted_basis,
        level=result.level.value,
        level_basis=_basis(result),
        level_known_at={},
        public_opinion=body.public_opinion,
        public_opinion_major_at=reported if body.public_opinion == "major" else None,
        responsible_kind="",
        co_signer_ids=[],
        reporter_org_id=ctx.actor.org_id,
        # Set here rather than left to column defaults: the event and the answer are built
        # before the flush that would apply them.
        on_site_command_active=False,
        escalated=False,
        version=1,
    )
    _mark_known(incident, result.level, reported)
    return incident


async def store(
    session: AsyncSession, checked: Checked, ctx: Context, *, idempotency_key: str | None
) -> Intake:
    """Add a checked intake to the session, or find the one its Idempotency-Key made.

    Nothing is flushed: many intakes can go to the database in one flush (group commit).
    """
    now = ctx.clock.now()
    scope = f"incidents:{ctx.actor.org_id}"
    # In a shared batch a reused key fails the batch at commit (the key's primary key), and
    # alone the lookup finds it: no query per intake for the common case of a new key.
    if not group_commit.shared(session):
        prior = await idempotency.prior(session, idempotency_key, scope, checked.digest)
        if prior is not None:
            return Intake(await get_visible(session, prior, ctx.actor), False, None)

    incident = new_incident(checked, ctx, now)
    codes = checked.codes
    session.add(incident)
    for code in codes:
        session.add(IncidentDivision(incident_id=incident.id, division_code=code))
    await route(session, incident, at=now, cause="intake")
    facts = summary(incident)
    await log.record(
        session,
        "incident.reported",
        action="incident.create",
        entity_type="incident",
        entity_id=incident.id,
        at=now,
        actor=ctx.actor,
        data=facts,
        after=facts,
        org_id=incident.responsible_org_id,
        incident_id=incident.id,
        division_codes=codes,
        flush=False,
    )
    # A new incident has no obligations or publications yet: nothing to read back.
    opened = await obligations.reconcile_incident(session, incident, at=now, new=True)
    idempotency.remember(session, idempotency_key, scope, checked.digest, incident.id, now)
    return Intake(incident, True, opened)


async def add_report(
    session: AsyncSession, incident_id: str, body: SituationReportCreate, ctx: Context
) -> Incident:
    """A situation report: new facts may raise the level at once, never lower it (RULES §1)."""
    incident = await _active_for_update(session, incident_id, ctx.actor)
    now = ctx.clock.now()
    received = body.reported_at or now
    if received > now + ctx.future_tolerance:
        raise invalid("reported_at", "is in the future")
    if received < incident.occurred_at:
        raise invalid("reported_at", "is before the incident occurred")
    before = summary(incident)
    reported_figures = _check_figures(body.figures)
    figures = {**incident.figures, **reported_figures}
    criteria = sorted(set(incident.criteria) | set(body.criteria))
    stored_assertion = Level(incident.asserted_level) if incident.asserted_level else None
    # An assertion stands until a higher one replaces it.
    assertions = [lv for lv in (body.asserted_level, stored_assertion) if lv is not None]
    asserted = max_level(*assertions) if assertions else None
    basis_text = body.asserted_basis or incident.asserted_basis
    result = _classify(
        Category(incident.category), incident.subtype, figures, asserted, basis_text, criteria
    )
    prior = _classify(
        Category(incident.category),
        incident.subtype,
        incident.figures,
        stored_assertion,
        incident.asserted_basis,
        incident.criteria,
    )
    old_level = Level(incident.level)
    # RULES §1: facts raise the level only when they reach beyond the facts already weighed,
    # so an authorised lower decision stands until something new outgrows it.
    new_level = (
        rules_classification.next_level_after_facts(old_level, result)
        if rank(result.level) > rank(prior.level)
        else old_level
    )
    casualties_changed = any(
        figures.get(k, 0) != incident.figures.get(k, 0) for k in CASUALTY_FIGURES
    )
    session.add(
        SituationReport(
            id=new_id("rpt"),
            incident_id=incident.id,
            reported_at=received,
            received_at=now,
            figures=reported_figures,
            public_opinion=body.public_opinion,
            note=body.note,
            org_id=ctx.actor.org_id,
        )
    )
    incident.figures = figures
    incident.criteria = criteria
    incident.asserted_level = asserted.value if asserted else None
    incident.asserted_basis = basis_text
    if body.public_opinion and body.public_opinion != incident.public_opinion:
        incident.public_opinion = body.public_opinion
        if body.public_opinion == "major" and incident.public_opinion_major_at is None:
            incident.public_opinion_major_at = received
    if new_level != old_level:
        incident.level = new_level.value
        incident.level_basis = _basis(result)
        _mark_known(incident, new_level, received)
    elif new_level == result.level:
        incident.level_basis = _basis(result)
    if casualties_changed or new_level != old_level:
        incident.last_significant_change_at = received
    await _after_change(
        session, incident, before, ctx, action="incident.report", cause="situation report"
    )
    if new_level != old_level:
        await _level_event(session, incident, old_level, new_level, now, "situation report")
    return incident


async def command(
    session: AsyncSession, incident_id: str, body: CommandAction, ctx: Context
) -> Incident:
    """Establish or stand down the on-site command; while active it releases (Art. 22, 25)."""
    incident = await _active_for_update(session, incident_id, ctx.actor)
    now = ctx.clock.now()
    before = summary(incident)
    if body.action == "establish":
        if incident.on_site_command_active:
            raise conflict(
                "command-active", "An on-site command is already active for this incident."
            )
        if incident.on_site_command_id is None:
            cmd = Org(
                id=f"cmd-{incident.id.removeprefix('inc_')}",
                name_zh=body.name or f"{incident.title}现场指挥部",
                name_en=body.name or f"On-site command: {incident.title}",
                kind="on_site_command",
                division_code=incident.division_codes[0],
                parent_id=directory.government_id(incident.division_codes[0]),
            )
            session.add(cmd)
            await session.flush()
            incident.on_site_command_id = cmd.id
        incident.on_site_command_active = True
        incident.command_established_at = now
    else:
        if not incident.on_site_command_active:
            raise conflict("command-inactive", "No on-site command is active for this incident.")
        incident.on_site_command_active = False
    await _after_change(
        session,
        incident,
        before,
        ctx,
        action=f"incident.command.{body.action}",
        cause=f"on-site command {body.action}",
    )
    return incident


async def escalate(session: AsyncSession, incident_id: str, reason: str, ctx: Context) -> Incident:
    """The provincial government takes over the release work when needed (Art. 22)."""
    incident = await _active_for_update(session, incident_id, ctx.actor)
    if incident.escalated:
        raise conflict(
            "already-escalated", "The incident is already escalated to the provincial government."
        )
    now = ctx.clock.now()
    before = summary(incident)
    incident.escalated = True
    incident.escalated_at = now
    await log.append(
        session,
        "escalation.raised",
        at=now,
        incident_id=incident.id,
        org_id=ctx.actor.org_id,
        division_codes=incident.division_codes,
        data={"reason": reason, "to": "provincial_government", "by_org_id": ctx.actor.org_id},
    )
    await _after_change(
        session,
        incident,
        before,
        ctx,
        action="incident.escalate",
        cause="escalation",
        reason=reason,
    )
    return incident


async def override_classification(
    session: AsyncSession, incident_id: str, body: ClassificationOverride, ctx: Context
) -> Incident:
    """An authorised decision sets the level; only this can lower it (RULES §1)."""
    incident = await _active_for_update(session, incident_id, ctx.actor)
    now = ctx.clock.now()
    before = summary(incident)
    old_level = Level(incident.level)
    if body.level == old_level:
        raise conflict("level-unchanged", f"The incident is already level {old_level.value}.")
    incident.level = body.level.value
    incident.level_basis = [
        *incident.level_basis,
        {
            "criterion": "override",
            "value": body.reason,
            "level": body.level.value,
            "source": f"decision by {ctx.actor.org_id}",
        },
    ]
    _mark_known(incident, body.level, now)
    incident.last_significant_change_at = now
    await _after_change(
        session,
        incident,
        before,
        ctx,
        action="incident.classification",
        cause="classification override",
        reason=body.reason,
    )
    await _level_event(session, incident, old_level, body.level, now, body.reason)
    return incident


async def close(session: AsyncSession, incident_id: str, reason: str, ctx: Context) -> Incident:
    incident = await _active_for_update(session, incident_id, ctx.actor)
    now = ctx.clock.now()
    before = summary(incident)
    incident.status = "closed"
    incident.closed_at = now
    await _after_change(
        session, incident, before, ctx, action="incident.close", cause="closed", reason=reason
    )
    return incident


# -- shared tail -------------------------------------------------------------------------------


async def _active_for_update(session: AsyncSession, incident_id: str, actor: Principal) -> Incident:
    """The incident, locked for a change; a closed one is not changed."""
    incident = await get_visible(session, incident_id, actor, for_update=True)
    if incident.status != "active":
        raise conflict(
            "incident-closed", "The incident is closed; open a new one or file a correction."
        )
    return incident


async def _after_change(
    session: AsyncSession,
    incident: Incident,
    before: dict[str, Any],
    ctx: Context,
    *,
    action: str,
    cause: str,
    reason: str | None = None,
) -> None:
    now = ctx.clock.now()
    await route(session, incident, at=now, cause=cause)
    await session.flush()
    after = summary(incident)
    await log.record(
        session,
        "incident.updated",
        action=action,
        entity_type="incident",
        entity_id=incident.id,
        at=now,
        actor=ctx.actor,
        incident_id=incident.id,
        org_id=incident.responsible_org_id,
        division_codes=incident.division_codes,
        data={**after, "cause": cause},
        before=before,
        after=after,
        reason=reason,
    )
    await obligations.reconcile_incident(session, incident, at=now)


async def _level_event(
    session: AsyncSession, incident: Incident, old: Level, new: Level, at: datetime, cause: str
) -> None:
    await log.append(
        session,
        "incident.level_changed",
        at=at,
        incident_id=incident.id,
        org_id=incident.responsible_org_id,
        division_codes=incident.division_codes,
        data={"from": old.value, "to": new.value, "cause": cause, "basis": incident.level_basis},
    )


def summary(incident: Incident) -> dict[str, Any]:
    """The facts an event or audit entry carries about an incident."""
    return {
        "id": incident.id,
        "title": incident.title,
        "category": incident.category,
        "subtype": incident.subtype,
        "status": incident.status,
        "level": incident.level,
        "occurred_at": iso(incident.occurred_at),
        "division_codes": list(incident.division_codes),
        "prefecture_code": incident.prefecture_code,
        "figures": dict(incident.figures),
        "responsible_org_id": incident.responsible_org_id,
        "co_signer_ids": list(incident.co_signer_ids),
        "on_site_command_active": incident.on_site_command_active,
        "escalated": incident.escalated,
        "public_opinion": incident.public_opinion,
    }
