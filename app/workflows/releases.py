"""The release work flow: draft, submit, review, approve, co-sign, publish, retract.

Each step loads the release (locked on PostgreSQL), asks app.rules.releases whether the
act is in turn and allowed, writes the new state with its act, audit entry and event,
and leaves the commit to the caller's unit of work. Two acts racing on one release
collide on its version (or wait on its row lock) and exactly one wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency
from app.auth import Principal
from app.clock import Clock, iso
from app.db import fetch
from app.errors import Problem, conflict, forbidden, invalid, not_found
from app.events import log
from app.ids import new_id
from app.models import Incident, IncidentDivision, Obligation, Org
from app.models.releases import Release, ReleaseAct, ReleaseCoSigner, ReleaseFlow
from app.publishing.render import ReleaseView
from app.rules import releases as rules
from app.rules.obligations import ObligationKind
from app.rules.releases import FlowStep, ReleaseKind, StepKind
from app.schemas.releases import ReleaseCreate, ReleaseEdit
from app.views import load_orgs, org_ref
from app.workflows import incidents as incidents_wf
from app.workflows import obligations as obligations_wf


@dataclass(frozen=True)
class Context:
    """Who acts, when, and where published releases are read."""

    actor: Principal
    clock: Clock
    public_url: str = "http://127.0.0.1:8000"


# -- loading ---------------------------------------------------------------------------------


async def get_visible(
    session: AsyncSession, release_id: str, actor: Principal, *, for_update: bool = False
) -> Release:
    """The release if the actor may see it; 404 otherwise (API.md, Auth).

    A release on an incident is seen by whoever sees the incident; a release standing
    alone by whoever sees the releasing organ's division. The releasing organ and its
    co-signers always see it.
    """
    release = await fetch(session, Release, release_id, for_update=for_update)
    if release is None or not await _visible(session, release, actor):
        raise not_found("release")
    return release


async def _visible(session: AsyncSession, release: Release, actor: Principal) -> bool:
    if actor.org_id == release.org_id or actor.org_id in release.co_signer_ids:
        return True
    if release.incident_id is not None:
        incident = await session.get(Incident, release.incident_id)
        return incident is not None and incidents_wf.visible_to(incident, actor)
    return actor.sees_any(release.division_codes)


async def flow_of(session: AsyncSession, org_id: str) -> tuple[list[FlowStep], ReleaseFlow | None]:
    """The organ's own work flow (Art. 27), or the default when it has set none."""
    row = await session.get(ReleaseFlow, org_id)
    if row is None:
        return list(rules.DEFAULT_FLOW), None
    return [FlowStep.from_dict(s) for s in row.steps], row


def _flow(release: Release) -> list[FlowStep]:
    return [FlowStep.from_dict(s) for s in release.flow]


def _awaits_acts(release: Release, flow: Sequence[FlowStep]) -> bool:
    # A draft or a rejected release waits for a submission, which starts a new round.
    return release.step_index < len(flow) and release.status not in rules.EDITABLE_STATUSES


async def _acted(session: AsyncSession, release: Release, flow: Sequence[FlowStep]) -> list[str]:
    """The organs that have done the step the release waits for, in this round."""
    if not _awaits_acts(release, flow):
        return []
    result = await session.execute(
        select(ReleaseAct.org_id).where(
            ReleaseAct.release_id == release.id,
            ReleaseAct.round == release.round,
            ReleaseAct.step_index == release.step_index,
            ReleaseAct.outcome == "done",
        )
    )
    return list(result.scalars())


def _waiting_for(release: Release, flow: Sequence[FlowStep], acted: Sequence[str]) -> list[str]:
    """The organs the step the release waits for still needs."""
    if not _awaits_acts(release, flow):
        return []
    orgs = rules.required_orgs(
        flow[release.step_index], owner=release.org_id, co_signers=release.co_signer_ids
    )
    return [o for o in orgs if o not in acted]


# -- checks ----------------------------------------------------------------------------------


def _refuse(refusal: rules.Refusal) -> Problem:
    title = {403: "Forbidden", 409: "Conflict", 422: "Invalid request"}.get(
        refusal.status, "Refused"
    )
    return Problem(
        refusal.status,
        refusal.type,
        title,
        refusal.detail + (f" ({refusal.article})" if refusal.article else ""),
        article=refusal.article,
        extra=dict(refusal.extra),
    )


def _check_elements(kind: ReleaseKind, facts: dict[str, Any] | None) -> None:
    """Art. 23 (first) and Art. 24 (summary): every element, or 422 listing each missing."""
    missing = rules.missing_elements(kind, facts)
    if not missing:
        return
    article = missing[0].article
    raise Problem(
        422,
        "missing-elements",
        "Required elements missing",
        f"A {rules.KIND_LABELS[kind][1]} must carry every element of {article}; missing: "
        + ", ".join(m.field for m in missing)
        + ".",
        article=article,
        errors=[{"field": m.field, "message": m.message} for m in missing],
    )


async def _check_responsible(
    session: AsyncSession, kind: ReleaseKind, incident: Incident | None, org_id: str
) -> None:
    """Art. 5(6), 22, 25: authoritative releases on an incident come from its responsible organ."""
    if incident is None or kind not in rules.RESPONSIBLE_ONLY_KINDS:
        return
    if org_id == incident.responsible_org_id:
        return
    responsible = await session.get(Org, incident.responsible_org_id)
    name = responsible.name_en if responsible else incident.responsible_org_id
    article = rules.responsibility_article(incident.category)
    raise forbidden(
        f"Only the responsible organ, {name}, may publish a {rules.KIND_LABELS[kind][1]} "
        f"on this incident ({article}).",
        article=article,
        responsible_org=org_ref(responsible) or {"id": incident.responsible_org_id},
    )


async def _latest_publication(
    session: AsyncSession, incident_id: str, *, excluding: str | None = None
) -> Release | None:
    """The latest publication on the incident that states casualties and still stands."""
    retracted = select(Release.replaces_id).where(
        Release.kind == ReleaseKind.retraction.value,
        Release.status == "published",
        Release.replaces_id.is_not(None),
    )
    stmt = (
        select(Release)
        .where(
            Release.incident_id == incident_id,
            Release.status == "published",
            Release.kind != ReleaseKind.retraction.value,
            Release.id.not_in(retracted),
        )
        .order_by(Release.published_at.desc(), Release.id.desc())
    )
    if excluding:
        stmt = stmt.where(Release.id != excluding)
    for candidate in (await session.execute(stmt)).scalars():
        if (candidate.facts or {}).get("casualties"):
            return candidate
    return None


async def _check_figures(
    session: AsyncSession,
    incident: Incident | None,
    facts: dict[str, Any] | None,
    explanation: str | None,
    *,
    release_id: str | None = None,
) -> list[dict[str, Any]]:
    """Art. 16: figures agree with the latest situation report and the last publication,
    or the drafter explains the difference. Returns the differences the explanation covers."""
    if incident is None or not facts or not facts.get("casualties"):
        return []
    published = await _latest_publication(session, incident.id, excluding=release_id)
    differences = rules.compare_figures(
        facts["casualties"],
        reported=incident.figures,
        published=(published.facts or {}).get("casualties") if published else None,
        published_id=published.id if published else None,
    )
    if not differences:
        return []
    shown = [d.as_dict() for d in differences]
    if explanation and explanation.strip():
        return shown
    raise Problem(
        409,
        "figures-inconsistent",
        "Conflict",
        "The figures contradict the record; correct them or mark the difference with an "
        "explanation (Art. 16): "
        + "; ".join(
            f"{d.field} {d.release} vs {d.source.replace('_', ' ')} {d.source_field} {d.recorded}"
            for d in differences
        )
        + ".",
        article="Art. 16",
        errors=[
            {
                "field": d.field,
                "message": f"{d.release} in the release, {d.recorded} in the "
                f"{d.source.replace('_', ' ')}",
            }
            for d in differences
        ],
        extra={"differences": shown},
    )


async def _recheck(session: AsyncSession, release: Release, incident: Incident | None) -> None:
    """The content checks again, as the release moves on: responsibility may have moved
    since the draft (a command established, an escalation), and a situation report may
    have come in since the review."""
    kind = ReleaseKind(release.kind)
    await _check_responsible(session, kind, incident, release.org_id)
    _check_elements(kind, release.facts)
    release.differences = await _check_figures(
        session, incident, release.facts, release.explanation, release_id=release.id
    )


async def _co_signers(
    session: AsyncSession, named: Sequence[str], incident: Incident | None, owner: str
) -> list[str]:
    """Art. 15: organs concerned confirm jointly: the incident's co-signers and those named."""
    known = await load_orgs(session, named)
    for i, org_id in enumerate(named):
        if org_id not in known:
            raise invalid(f"co_signers[{i}]", f"unknown organ {org_id!r}")
    found: list[str] = []
    for org_id in [*(incident.co_signer_ids if incident else []), *named]:
        if org_id != owner and org_id not in found:
            found.append(org_id)
    return found


async def _sync_co_signers(session: AsyncSession, release: Release, wanted: list[str]) -> None:
    # The rows mirror `co_signer_ids` (only this function writes either), so diff the list.
    have = set(release.co_signer_ids)
    for org_id in wanted:
        if org_id not in have:
            session.add(ReleaseCoSigner(release_id=release.id, org_id=org_id))
    gone = have - set(wanted)
    if gone:
        await session.execute(
            delete(ReleaseCoSigner).where(
                ReleaseCoSigner.release_id == release.id, ReleaseCoSigner.org_id.in_(gone)
            )
        )
    release.co_signer_ids = wanted


# -- events ----------------------------------------------------------------------------------


def summary(release: Release) -> dict[str, Any]:
    """What every release.* event and audit entry carries about the release."""
    flow = _flow(release)
    current = flow[release.step_index] if release.step_index < len(flow) else None
    return {
        "id": release.id,
        "kind": release.kind,
        "title": release.title,
        "status": release.status,
        "org_id": release.org_id,
        "incident_id": release.incident_id,
        "round": release.round,
        "current_step": current.step.value if current and release.status != "withdrawn" else None,
        "co_signer_ids": list(release.co_signer_ids),
        "replaces_id": release.replaces_id,
    }


async def _record(
    session: AsyncSession,
    release: Release,
    ctx: Context,
    *,
    event_type: str,
    before: dict[str, Any] | None,
    data: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    now = ctx.clock.now()
    after = summary(release)
    await log.record(
        session,
        event_type,
        action=event_type,
        entity_type="release",
        entity_id=release.id,
        at=now,
        actor=ctx.actor,
        incident_id=release.incident_id,
        org_id=release.org_id,
        division_codes=release.division_codes,
        data={**after, "by_org_id": ctx.actor.org_id, **(data or {})},
        before=before,
        after=after,
        reason=reason,
    )


def _facts(body: ReleaseCreate | ReleaseEdit) -> dict[str, Any] | None:
    if body.facts is None:
        return None
    return body.facts.model_dump(mode="json", exclude_none=True)


def _add_author(release: Release, token_id: str | None) -> None:
    if token_id and token_id not in release.author_tokens:
        release.author_tokens = [*release.author_tokens, token_id]


# -- drafting --------------------------------------------------------------------------------


async def create(
    session: AsyncSession,
    body: ReleaseCreate,
    ctx: Context,
    *,
    incident_id: str | None,
    idempotency_key: str | None = None,
) -> tuple[Release, bool]:
    """A draft, checked for content at once so a press office learns early what is missing.

    Returns the release and whether it was created now (False: the same request again).
    """
    actor = ctx.actor
    now = ctx.clock.now()
    digest = idempotency.digest({"incident_id": incident_id, **body.model_dump(mode="json")})
    scope = f"releases:{actor.org_id}"
    prior = await idempotency.prior(session, idempotency_key, scope, digest)
    if prior is not None:
        return await get_visible(session, prior, actor), False

    kind = body.kind
    replaced: Release | None = None
    if body.replaces_id is not None:
        if kind not in rules.REPLACING_KINDS:
            raise invalid("replaces_id", "only a correction or a retraction replaces a release")
        replaced = await _replaceable(session, body.replaces_id, kind, actor)
        if incident_id is not None and replaced.incident_id != incident_id:
            raise invalid("replaces_id", "the release it replaces is not on this incident")
        incident_id = replaced.incident_id
    elif kind in rules.REPLACING_KINDS:
        raise invalid("replaces_id", f"a {kind.value} names the publication it replaces (RULES §4)")

    incident: Incident | None = None
    if incident_id is not None:
        incident = await incidents_wf.get_visible(session, incident_id, actor)
    elif kind in rules.INCIDENT_KINDS:
        raise invalid(
            "kind",
            f"a {rules.KIND_LABELS[kind][1]} is about an incident: "
            "POST /api/v1/incidents/{id}/releases",
        )

    if body.subject_id is not None and kind not in rules.SUBJECT_TYPES:
        raise invalid(
            "subject_id",
            "only regular information or a media-supervision response answers a subject",
        )
    facts = _facts(body)
    await _check_responsible(session, kind, incident, actor.org_id)
    _check_elements(kind, facts)
    differences = await _check_figures(session, incident, facts, body.explanation)
    co_signers = await _co_signers(session, body.co_signers, incident, actor.org_id)
    flow, _ = await flow_of(session, actor.org_id)

    release = Release(
        id=new_id("rel"),
        incident_id=incident.id if incident else None,
        org_id=actor.org_id,
        kind=kind.value,
        title=body.title,
        body=body.body,
        channels=[c.value for c in body.channels],
        facts=facts,
        explanation=body.explanation,
        differences=differences,
        status="draft",
        division_codes=list(incident.division_codes) if incident else [actor.division_code],
        flow=[s.as_dict() for s in flow],
        step_index=0,
        round=0,
        co_signer_ids=[],
        created_at=now,
        created_by_token=actor.token_id,
        author_tokens=[actor.token_id] if actor.token_id else [],
        updated_at=now,
        replaces_id=replaced.id if replaced else None,
        subject_id=body.subject_id,
        act_count=0,
    )
    session.add(release)
    await session.flush()
    await _sync_co_signers(session, release, co_signers)
    await _record(session, release, ctx, event_type="release.drafted", before=None)
    idempotency.remember(session, idempotency_key, scope, digest, release.id, now)
    return release, True


async def _replaceable(
    session: AsyncSession, release_id: str, kind: ReleaseKind, actor: Principal
) -> Release:
    try:
        target = await get_visible(session, release_id, actor)
    except Problem as exc:
        raise invalid("replaces_id", f"no such release {release_id!r}") from exc
    if target.status != "published":
        raise conflict(
            "not-published",
            "Only a publication is corrected or retracted; change the draft instead (RULES §4).",
        )
    if target.kind == ReleaseKind.retraction.value:
        raise conflict("retraction-final", "A retraction is not itself corrected or retracted.")
    if kind == ReleaseKind.retraction and await _retracted_by(session, target.id) is not None:
        raise conflict("already-retracted", "This publication is already retracted.")
    if actor.org_id != target.org_id:
        incident = await session.get(Incident, target.incident_id) if target.incident_id else None
        if incident is None or actor.org_id != incident.responsible_org_id:
            raise forbidden(
                "Only the organ that published it, or the organ now responsible for the "
                "incident, corrects or retracts a publication (Art. 5(6)).",
                article="Art. 5(6)",
            )
    return target


async def _retracted_by(session: AsyncSession, release_id: str) -> Release | None:
    result = await session.execute(
        select(Release).where(
            Release.replaces_id == release_id,
            Release.kind == ReleaseKind.retraction.value,
            Release.status == "published",
        )
    )
    return result.scalars().first()


async def edit(session: AsyncSession, release_id: str, body: ReleaseEdit, ctx: Context) -> Release:
    """Change a draft, or a rejected release before it is submitted again; never a publication."""
    release = await get_visible(session, release_id, ctx.actor, for_update=True)
    if release.status not in rules.EDITABLE_STATUSES:
        raise conflict(
            "not-editable",
            "Only a draft or a rejected release is changed; a release in its work flow is "
            "rejected first, and a publication is corrected by a new one (RULES §4).",
            status_now=release.status,
        )
    if ctx.actor.org_id != release.org_id or not ctx.actor.has("drafter"):
        raise forbidden("A drafter of the releasing organ changes a draft.", article="Art. 27")
    before = summary(release)
    if body.title is not None:
        release.title = body.title
    if body.body is not None:
        release.body = body.body
    if body.channels is not None:
        release.channels = [c.value for c in body.channels]
    if "facts" in body.model_fields_set:
        release.facts = _facts(body)
    if "explanation" in body.model_fields_set:
        release.explanation = body.explanation
    incident = await session.get(Incident, release.incident_id) if release.incident_id else None
    kind = ReleaseKind(release.kind)
    _check_elements(kind, release.facts)
    release.differences = await _check_figures(
        session, incident, release.facts, release.explanation, release_id=release.id
    )
    if body.co_signers is not None:
        wanted = await _co_signers(session, body.co_signers, incident, release.org_id)
        await _sync_co_signers(session, release, wanted)
    _add_author(release, ctx.actor.token_id)
    release.updated_at = ctx.clock.now()
    release.act_count += 1
    await _record(session, release, ctx, event_type="release.edited", before=before)
    return release


# -- the steps -------------------------------------------------------------------------------


@dataclass
class _Turn:
    release: Release
    flow: list[FlowStep]
    step: FlowStep
    before: dict[str, Any]
    # Organs that had done the step before this act, in this round.
    acted: list[str]


async def _take_turn(
    session: AsyncSession, release_id: str, action: StepKind, ctx: Context
) -> _Turn:
    """Load and lock the release; refuse unless `action` is its next step and the actor may
    do it (role, organ, not their own draft, not twice)."""
    release = await get_visible(session, release_id, ctx.actor, for_update=True)
    return await _turn(session, release, action, ctx)


async def _turn(session: AsyncSession, release: Release, action: StepKind, ctx: Context) -> _Turn:
    if release.status == "withdrawn":
        raise conflict("release-withdrawn", "The release was withdrawn.")
    flow = _flow(release)
    acted = await _acted(session, release, flow)
    refusal = rules.out_of_turn(
        flow, release.step_index, action, waiting_for=_waiting_for(release, flow, acted)
    )
    if refusal is not None:
        raise _refuse(refusal)
    before = summary(release)
    if action == StepKind.submit:
        # A submission starts a round; the acts of an earlier, rejected one no longer count.
        release.round += 1
    step = flow[release.step_index]
    refusal = rules.may_act(
        step,
        actor_org=ctx.actor.org_id,
        actor_roles=ctx.actor.roles,
        actor_token=ctx.actor.token_id,
        owner=release.org_id,
        co_signers=release.co_signer_ids,
        acted=acted,
        author_tokens=release.author_tokens,
    )
    if refusal is not None:
        raise _refuse(refusal)
    return _Turn(release, flow, step, before, acted)


def _add_act(
    session: AsyncSession,
    turn: _Turn,
    ctx: Context,
    *,
    at: datetime,
    outcome: str,
    note: str | None,
) -> None:
    """The actor's act at the step the release waits for, in this round (Art. 15, 39(6))."""
    release = turn.release
    session.add(
        ReleaseAct(
            id=new_id("act"),
            release_id=release.id,
            round=release.round,
            step_index=release.step_index,
            step=turn.step.step.value,
            org_id=ctx.actor.org_id,
            token_id=ctx.actor.token_id,
            roles=sorted(ctx.actor.roles),
            at=at,
            outcome=outcome,
            note=note,
        )
    )


async def _pass_step(
    session: AsyncSession, turn: _Turn, ctx: Context, *, note: str | None = None
) -> None:
    """Record the actor's act; move on when every organ the step needs has acted."""
    release = turn.release
    now = ctx.clock.now()
    index = release.step_index
    _add_act(session, turn, ctx, at=now, outcome="done", note=note or None)
    acted = [*turn.acted, ctx.actor.org_id]
    if rules.step_done(
        turn.step, owner=release.org_id, co_signers=release.co_signer_ids, acted=acted
    ):
        index += 1
        # A co-signing step with nobody to co-sign passes by itself (Art. 15 needs no one).
        while index < len(turn.flow) and not rules.required_orgs(
            turn.flow[index], owner=release.org_id, co_signers=release.co_signer_ids
        ):
            index += 1
    release.step_index = index
    release.status = rules.status_for(turn.flow, index)
    release.updated_at = now
    release.act_count += 1


async def submit(session: AsyncSession, release_id: str, ctx: Context) -> Release:
    """The drafter hands the release to its work flow; content is checked again here."""
    turn = await _take_turn(session, release_id, StepKind.submit, ctx)
    release = turn.release
    incident = await session.get(Incident, release.incident_id) if release.incident_id else None
    await _recheck(session, release, incident)
    # Co-signers are fixed for the round: the incident's as they are now, and those named.
    await _sync_co_signers(
        session,
        release,
        await _co_signers(session, release.co_signer_ids, incident, release.org_id),
    )
    _add_author(release, ctx.actor.token_id)
    release.rejection = None
    release.submitted_at = ctx.clock.now()
    await _pass_step(session, turn, ctx)
    await _record(session, release, ctx, event_type="release.submitted", before=turn.before)
    return release


async def review(
    session: AsyncSession, release_id: str, ctx: Context, *, passed: bool, note: str = ""
) -> Release:
    """The confidentiality review (Art. 39(6)): passed moves on, failed sends it back."""
    turn = await _take_turn(session, release_id, StepKind.review, ctx)
    if not passed:
        await _reject(session, turn, ctx, reason=note or "failed the confidentiality review")
        await _record(
            session,
            turn.release,
            ctx,
            event_type="release.reviewed",
            before=turn.before,
            data={"passed": False, "note": note},
            reason=note or None,
        )
        await _record(
            session,
            turn.release,
            ctx,
            event_type="release.rejected",
            before=turn.before,
            data={"rejection": turn.release.rejection},
            reason=note or None,
        )
        return turn.release
    await _pass_step(session, turn, ctx, note=note)
    # Review is complete once no review step lies ahead (co-signers may review too).
    if not any(s.step == StepKind.review for s in turn.flow[turn.release.step_index :]):
        await _owe_regular_info(session, turn.release, ctx.clock.now())
    await _record(
        session,
        turn.release,
        ctx,
        event_type="release.reviewed",
        before=turn.before,
        data={"passed": True, "note": note},
    )
    return turn.release


async def _regular_info_clock(session: AsyncSession, release: Release) -> Obligation | None:
    """The organ's Art. 20 clock about the item this release publishes, if one is open."""
    if release.subject_id is None:
        return None
    return await obligations_wf.find_for_subject(
        session,
        ObligationKind.regular_info,
        subject_type="regular_info",
        subject_id=release.subject_id,
        org_id=release.org_id,
    )


async def _owe_regular_info(session: AsyncSession, release: Release, now: datetime) -> None:
    """RULES §3, Art. 20: regular information that has passed production and review is owed
    within 5 working days. An item its organ registered already keeps the review time given
    then; otherwise the release is the item, and passing this review starts its clock."""
    if release.kind != ReleaseKind.regular_info.value or release.incident_id is not None:
        return
    if release.subject_id is None:
        release.subject_id = release.id
    if await _regular_info_clock(session, release) is None:
        await obligations_wf.open_regular_info(
            session, release.org_id, now, subject_id=release.subject_id, at=now
        )


async def approve(
    session: AsyncSession, release_id: str, ctx: Context, *, note: str = ""
) -> Release:
    """Approval by the head or an authorised person of the releasing organ (Art. 15)."""
    return await _sign(session, release_id, ctx, StepKind.approve, "release.approved", note)


async def cosign(
    session: AsyncSession, release_id: str, ctx: Context, *, note: str = ""
) -> Release:
    """Joint confirmation by one co-signing organ (Art. 15)."""
    return await _sign(session, release_id, ctx, StepKind.cosign, "release.cosigned", note)


async def _sign(
    session: AsyncSession, release_id: str, ctx: Context, step: StepKind, event_type: str, note: str
) -> Release:
    turn = await _take_turn(session, release_id, step, ctx)
    await _pass_step(session, turn, ctx, note=note)
    await _record(
        session, turn.release, ctx, event_type=event_type, before=turn.before, data={"note": note}
    )
    return turn.release


async def reject(session: AsyncSession, release_id: str, reason: str, ctx: Context) -> Release:
    """Whoever may act at the step the release waits for may send it back to the drafter."""
    release = await get_visible(session, release_id, ctx.actor, for_update=True)
    if release.status in ("published", "withdrawn") or release.status in rules.EDITABLE_STATUSES:
        raise conflict(
            "not-in-flow",
            f"Only a release in its work flow is rejected; this one is {release.status}.",
        )
    turn = await _turn(session, release, _flow(release)[release.step_index].step, ctx)
    await _reject(session, turn, ctx, reason=reason)
    await _record(
        session,
        turn.release,
        ctx,
        event_type="release.rejected",
        before=turn.before,
        data={"rejection": turn.release.rejection},
        reason=reason,
    )
    return turn.release


async def _reject(session: AsyncSession, turn: _Turn, ctx: Context, *, reason: str) -> None:
    release = turn.release
    now = ctx.clock.now()
    _add_act(session, turn, ctx, at=now, outcome="rejected", note=reason)
    release.rejection = {
        "reason": reason,
        "step": turn.step.step.value,
        "org_id": ctx.actor.org_id,
        "token_id": ctx.actor.token_id,
        "at": iso(now),
    }
    release.step_index = 0
    release.status = "rejected"
    release.updated_at = now
    release.act_count += 1


async def publish(session: AsyncSession, release_id: str, ctx: Context) -> Release:
    """Publish once every step has passed; the publication never changes afterwards.

    Meets the obligations the publication satisfies (RULES §3), lets the incident's
    clocks open the next follow-up, and writes `release.published` with the content
    the channel publishers render.
    """
    turn = await _take_turn(session, release_id, StepKind.publish, ctx)
    release = turn.release
    now = ctx.clock.now()
    incident = await _incident_for_update(session, release.incident_id)
    kind = ReleaseKind(release.kind)
    await _recheck(session, release, incident)
    target: Release | None = None
    if release.replaces_id:
        target = await session.get(Release, release.replaces_id)
        if kind == ReleaseKind.retraction and await _retracted_by(session, release.replaces_id):
            raise conflict("already-retracted", "That publication is already retracted.")
    await _pass_step(session, turn, ctx)
    release.published_at = now
    release.url = f"{ctx.public_url.rstrip('/')}/releases/{release.id}"
    await session.flush()

    if incident is not None:
        for met in rules.obligations_met(kind, release.facts, on_incident=True):
            await obligations_wf.meet_for(
                session, met, incident_id=incident.id, at=now, by=release.id
            )
        # The clocks read the latest publication: the next follow-up opens from it.
        await obligations_wf.reconcile_incident(session, incident, at=now)
    if release.subject_id and kind in rules.SUBJECT_TYPES:
        subject_type = rules.SUBJECT_TYPES[kind]
        await obligations_wf.meet_for(
            session,
            subject_type,
            subject_type=subject_type,
            subject_id=release.subject_id,
            org_id=release.org_id,
            at=now,
            by=release.id,
        )

    await _record(
        session,
        release,
        ctx,
        event_type="release.published",
        before=turn.before,
        data=await publication(session, release),
    )
    if kind == ReleaseKind.early_warning:
        # Art. 24: the warning the release carries is announced (CAP, feed) as it goes out.
        from app.workflows import warnings as warnings_wf  # warnings build on releases

        await warnings_wf.on_release_published(session, release, at=now, public_url=ctx.public_url)
    if kind == ReleaseKind.retraction and target is not None:
        await _record(
            session,
            target,
            ctx,
            event_type="release.retracted",
            before=None,
            data={"retracted_by": release.id, "reason": release.body, "at": iso(now)},
            reason=release.body,
        )
    return release


async def _incident_for_update(session: AsyncSession, incident_id: str | None) -> Incident | None:
    """The incident, locked on PostgreSQL so that its clocks are reconciled one at a time."""
    if incident_id is None:
        return None
    return await fetch(session, Incident, incident_id, for_update=True)


async def publication(session: AsyncSession, release: Release) -> dict[str, Any]:
    """The content of a publication as `release.published` carries it (the channel
    publishers render it: app.publishing.render.ReleaseView takes these names)."""
    orgs = await load_orgs(session, [release.org_id, *release.co_signer_ids])
    org = orgs.get(release.org_id)
    return {
        "id": release.id,
        "kind": release.kind,
        "title": release.title,
        "body": release.body,
        "channels": list(release.channels),
        "facts": release.facts,
        "explanation": release.explanation,
        "incident_id": release.incident_id,
        "published_at": iso(release.published_at),
        "url": release.url,
        "org_id": release.org_id,
        "org_name_zh": org.name_zh if org else "",
        "org_name_en": org.name_en if org else "",
        "org": org_ref(org),
        "co_signers": [org_ref(orgs.get(i)) or {"id": i} for i in release.co_signer_ids],
        "replaces_id": release.replaces_id,
        "division_codes": list(release.division_codes),
    }


async def public_view(session: AsyncSession, release_id: str) -> ReleaseView:
    """A publication as the public reads it at its `url`, noting a later publication that
    corrected or retracted it; 404 for anything never published (drafts stay unseen)."""
    release = await session.get(Release, release_id)
    if release is None or release.published_at is None or release.url is None:
        raise not_found("published release")
    org = (await load_orgs(session, [release.org_id])).get(release.org_id)
    replacement = (
        await session.execute(
            select(Release)
            .where(Release.replaces_id == release.id, Release.published_at.is_not(None))
            # A retraction says the most (it withdraws the text, corrections included);
            # otherwise the latest correction is the text that stands.
            .order_by(
                (Release.kind == ReleaseKind.retraction.value).desc(),
                Release.published_at.desc(),
                Release.id.desc(),
            )
            .limit(1)
        )
    ).scalar_one_or_none()
    return ReleaseView(
        id=release.id,
        kind=release.kind,
        title=release.title,
        body=release.body,
        published_at=release.published_at,
        org_name_zh=org.name_zh if org else "",
        org_name_en=org.name_en if org else "",
        url=release.url,
        incident_id=release.incident_id,
        facts=release.facts,
        replaced_by=(
            (replacement.kind, replacement.url)
            if replacement is not None and replacement.url
            else None
        ),
    )


async def retract(
    session: AsyncSession, release_id: str, reason: str, ctx: Context
) -> tuple[Release, bool]:
    """Take a release back.

    A publication is never edited: retracting it drafts a `retraction` that replaces it,
    which passes the work flow like any release (RULES §4; returns it, created=True).
    A release not yet published is simply withdrawn (returns it, created=False).
    """
    release = await get_visible(session, release_id, ctx.actor, for_update=True)
    if release.status == "published":
        if not ctx.actor.has("drafter"):
            raise forbidden("A retraction is drafted by a drafter.", article="Art. 27")
        body = ReleaseCreate(
            kind=ReleaseKind.retraction,
            title=f"撤回：{release.title}"[:500],
            body=reason,
            channels=[rules.Channel(c) for c in release.channels],
            replaces_id=release.id,
            co_signers=list(release.co_signer_ids),
        )
        created, _ = await create(session, body, ctx, incident_id=release.incident_id)
        return created, True
    if release.status == "withdrawn":
        raise conflict("release-withdrawn", "The release is already withdrawn.")
    if ctx.actor.org_id != release.org_id:
        raise forbidden("Only the releasing organ withdraws its release.", article="Art. 27")
    before = summary(release)
    now = ctx.clock.now()
    if release.kind == ReleaseKind.regular_info.value and release.subject_id == release.id:
        # The clock its review started was about this draft alone; a redraft starts its own.
        owed = await _regular_info_clock(session, release)
        if owed is not None and owed.status == obligations_wf.OPEN:
            await obligations_wf.cancel(
                session, owed, at=now, reason="the release was withdrawn before publication"
            )
    release.status = "withdrawn"
    release.withdrawn_at = now
    release.rejection = None
    release.updated_at = now
    release.act_count += 1
    await _record(
        session,
        release,
        ctx,
        event_type="release.withdrawn",
        before=before,
        data={"reason": reason},
        reason=reason,
    )
    return release, False


# -- flows (Art. 27) ---------------------------------------------------------------------------


async def _org_in_reach(session: AsyncSession, org_id: str, actor: Principal) -> Org:
    org = await session.get(Org, org_id)
    if org is None or not (org.id == actor.org_id or org.division_code in actor.jurisdiction):
        raise not_found("organ")
    return org


async def get_flow(session: AsyncSession, org_id: str, actor: Principal) -> dict[str, Any]:
    org = await _org_in_reach(session, org_id, actor)
    steps, row = await flow_of(session, org.id)
    return flow_view(org.id, steps, row)


async def set_flow(
    session: AsyncSession, org_id: str, steps: list[FlowStep], ctx: Context
) -> dict[str, Any]:
    """An admin sets an organ's work flow; releases already drafted keep theirs."""
    org = await _org_in_reach(session, org_id, ctx.actor)
    errors = rules.validate_flow(steps)
    if errors:
        articles = list(dict.fromkeys(e.article for e in errors))
        raise Problem(
            422,
            "invalid-flow",
            "Invalid release work flow",
            "; ".join(f"{e.field}: {e.message} ({e.article})" for e in errors),
            article=", ".join(articles),
            errors=[{"field": e.field, "message": f"{e.message} ({e.article})"} for e in errors],
        )
    now = ctx.clock.now()
    current, row = await flow_of(session, org.id)
    before = {"steps": [s.as_dict() for s in current], "default": row is None}
    raw = [s.as_dict() for s in steps]
    if row is None:
        row = ReleaseFlow(
            org_id=org.id, steps=raw, updated_at=now, updated_by_token=ctx.actor.token_id
        )
        session.add(row)
    else:
        row.steps = raw
        row.updated_at = now
        row.updated_by_token = ctx.actor.token_id
    await session.flush()
    view = flow_view(org.id, steps, row)
    await log.record(
        session,
        "release_flow.updated",
        action="release_flow.set",
        entity_type="release_flow",
        entity_id=org.id,
        at=now,
        actor=ctx.actor,
        org_id=org.id,
        division_codes=[org.division_code],
        data=view,
        before=before,
        after=view,
    )
    return view


def flow_view(org_id: str, steps: Sequence[FlowStep], row: ReleaseFlow | None) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "default": row is None,
        "steps": [_step_view(s) for s in steps],
        "updated_at": iso(row.updated_at) if row else None,
    }


def _step_view(step: FlowStep) -> dict[str, Any]:
    zh, en = rules.STEP_LABELS[step.step]
    return {
        **step.as_dict(),
        "article": rules.STEP_ARTICLES[step.step],
        "label_zh": zh,
        "label_en": en,
    }


# -- reading ---------------------------------------------------------------------------------


def visible_clause(actor: Principal) -> Any:
    """SQL for "the actor may see this release", matching `_visible`."""
    seen_incidents = select(IncidentDivision.incident_id).where(
        IncidentDivision.division_code.in_(actor.jurisdiction)
    )
    own_incidents = select(Incident.id).where(
        or_(
            Incident.responsible_org_id == actor.org_id,
            Incident.on_site_command_id == actor.org_id,
        )
    )
    co_signing = select(ReleaseCoSigner.release_id).where(ReleaseCoSigner.org_id == actor.org_id)
    return or_(
        Release.org_id == actor.org_id,
        Release.id.in_(co_signing),
        Release.incident_id.in_(seen_incidents),
        Release.incident_id.in_(own_incidents),
        and_(Release.incident_id.is_(None), _standalone_in(actor)),
    )


def _standalone_in(actor: Principal) -> Any:
    # Standalone releases belong to their organ's division; find them through the organ.
    return Release.org_id.in_(select(Org.id).where(Org.division_code.in_(actor.jurisdiction)))


async def views(session: AsyncSession, releases: Sequence[Release]) -> list[dict[str, Any]]:
    """Many releases with a few queries, not a few per release."""
    ids = [r.id for r in releases]
    acts: dict[str, list[ReleaseAct]] = {i: [] for i in ids}
    replaced_by: dict[str, list[Release]] = {i: [] for i in ids}
    org_ids: list[str | None] = []
    if ids:
        for act in (
            await session.execute(
                select(ReleaseAct)
                .where(ReleaseAct.release_id.in_(ids))
                .order_by(ReleaseAct.at, ReleaseAct.id)
            )
        ).scalars():
            acts[act.release_id].append(act)
        for newer in (
            await session.execute(
                select(Release)
                .where(Release.replaces_id.in_(ids), Release.status == "published")
                .order_by(Release.published_at)
            )
        ).scalars():
            replaced_by[newer.replaces_id or ""].append(newer)
    for r in releases:
        org_ids += [r.org_id, *r.co_signer_ids, *(a.org_id for a in acts[r.id])]
    orgs = await load_orgs(session, org_ids)
    return [
        release_view(r, orgs=orgs, acts=acts[r.id], replaced_by=replaced_by[r.id]) for r in releases
    ]


def release_view(
    release: Release,
    *,
    orgs: dict[str, Org],
    acts: Sequence[ReleaseAct],
    replaced_by: Sequence[Release],
) -> dict[str, Any]:
    flow = _flow(release)
    this_round = [a for a in acts if a.round == release.round and a.outcome == "done"]
    steps: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for i, step in enumerate(flow):
        required = rules.required_orgs(step, owner=release.org_id, co_signers=release.co_signer_ids)
        done_by = [a for a in this_round if a.step_index == i]
        if release.status in ("draft", "rejected", "withdrawn"):
            state = "pending"
        elif i < release.step_index:
            state = "done" if done_by or required else "skipped"
        elif i == release.step_index:
            state = "current"
        else:
            state = "pending"
        entry = {
            **_step_view(step),
            "index": i,
            "state": state,
            "organs": list(required),
            "done_by": [
                {
                    "org_id": a.org_id,
                    "token_id": a.token_id,
                    "at": iso(a.at),
                    "note": a.note,
                }
                for a in done_by
            ],
        }
        steps.append(entry)
        if i == release.step_index and release.status not in ("published", "withdrawn"):
            acted = {a.org_id for a in done_by}
            current = {
                "index": i,
                "step": step.step.value,
                "role": step.role,
                "article": rules.STEP_ARTICLES[step.step],
                "waiting_for": [o for o in required if o not in acted],
            }
    zh, en = rules.KIND_LABELS[ReleaseKind(release.kind)]
    retraction = next((r for r in replaced_by if r.kind == ReleaseKind.retraction.value), None)
    return {
        "id": release.id,
        "kind": release.kind,
        "kind_label": {"zh": zh, "en": en},
        "incident_id": release.incident_id,
        "org": org_ref(orgs.get(release.org_id)) or {"id": release.org_id},
        "title": release.title,
        "body": release.body,
        "channels": release.channels,
        "facts": release.facts,
        "explanation": release.explanation,
        "differences": release.differences,
        "status": release.status,
        "round": release.round,
        "flow": steps,
        "current_step": current,
        "co_signers": [org_ref(orgs.get(i)) or {"id": i} for i in release.co_signer_ids],
        "rejection": release.rejection,
        "created_at": iso(release.created_at),
        "submitted_at": iso(release.submitted_at),
        "published_at": iso(release.published_at),
        "withdrawn_at": iso(release.withdrawn_at),
        "url": release.url,
        "replaces_id": release.replaces_id,
        "subject_id": release.subject_id,
        "replaced_by": [
            {"id": r.id, "kind": r.kind, "published_at": iso(r.published_at)} for r in replaced_by
        ],
        "retracted": retraction is not None,
        "version": release.version,
    }


async def view_one(session: AsyncSession, release: Release) -> dict[str, Any]:
    return (await views(session, [release]))[0]
