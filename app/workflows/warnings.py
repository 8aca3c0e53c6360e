"""Early warnings (Art. 24): issued, updated and cancelled as CAP 1.2 messages that pass
the release work flow.

Every message (Alert, Update, Cancel) is a row with its own `early_warning` release; the
message is published when its release is, and read from the release, so the two can
never disagree. An Update or a Cancel joins the chain of the Alert it follows and its
CAP `<references>` names every earlier message of the chain that was published.

Decisions:
- The identifier (GB/T 35965.1) is fixed when the message is entered: the issuing
  organ's division code, its GB/T 4657 sector code (SECTOR_CODES; "000" until the
  province assigns them), the entry time and a serial within that second.
- A Cancel stays in the feed until the warning it cancels would have expired (24 hours
  after it is sent when that warning had no expiry), so a hub that polls learns of it.
- A published message whose release is retracted leaves the feed and serves no CAP.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, text, union
from sqlalchemy.ext.asyncio import AsyncSession

from app import directory, pagination
from app.auth import Principal
from app.clock import iso
from app.db import dialect_name, fetch
from app.errors import Problem, conflict, forbidden, invalid, not_found
from app.events import log
from app.ids import new_id
from app.models import Incident, Org
from app.models.releases import Release
from app.models.warnings import EarlyWarning
from app.publishing.cap import (
    COLOUR_LEVEL,
    COLOUR_SEVERITY,
    COLOUR_ZH,
    WarningView,
    make_identifier,
    to_atom,
    to_cap_xml,
)
from app.rules.calendar import SHANGHAI
from app.rules.releases import Channel, ReleaseKind
from app.schemas.releases import ReleaseCreate
from app.schemas.warnings import WarningCancel, WarningCreate, WarningUpdate
from app.views import load_orgs, org_ref
from app.workflows import incidents as incidents_wf
from app.workflows import releases as releases_wf

MSG_VERB_ZH = {"Alert": "发布", "Update": "更新", "Cancel": "解除"}

# GB/T 35965.1-2018 A.1.2: the issuing-unit code is division (GB/T 2260) + DDD, a
# 3-digit sector code taken from GB/T 4657 (the codes of the central organs) + "000" +
# "00". Identifiers in national-platform use show a local organ taking its central
# counterpart's code (416, the China Meteorological Administration, on bureaus at every
# level). The GB/T 4657 table itself is not at hand, so the codes of the counterparts of
# our departments (emergency management, natural resources, health, public security)
# and whatever a people's government should use cannot be confirmed; a guessed code
# would claim a wrong sector. So: entries go here, by department key or organ id, only
# once confirmed; until then "000", which GB/T 4657 never assigns, marks the code as
# unassigned, and the serial keeps the province-level organs that share it apart.
SECTOR_CODES: dict[str, str] = {}
DEFAULT_SECTOR_CODE = "000"

# How long a Cancel stays listed when the warning it cancels had no expiry.
CANCEL_LISTED_FOR = timedelta(hours=24)


# Every message is drafted and published as a release, and needs to know no more than
# a release does: who acts, when, and where published releases are read.
Context = releases_wf.Context


# -- the state of messages, read from their releases ---------------------------------------


def _retracted_ids() -> Any:
    """SQL: every release a published retraction replaced (a scan of the publications)."""
    return select(Release.replaces_id).where(
        Release.kind == ReleaseKind.retraction.value,
        Release.status == "published",
        Release.replaces_id.is_not(None),
    )


async def _retracted_among(session: AsyncSession, release_ids: list[str]) -> set[str]:
    """Which of these releases a published retraction replaced: one indexed lookup."""
    if not release_ids:
        return set()
    # Only replaces_id in the WHERE: given kind or status too, SQLite prefers their
    # indexes and scans every publication.
    rows = await session.execute(
        select(Release.replaces_id, Release.kind, Release.status).where(
            Release.replaces_id.in_(release_ids)
        )
    )
    return {
        replaced
        for replaced, kind, status in rows.all()
        if replaced is not None and kind == ReleaseKind.retraction.value and status == "published"
    }


@dataclass
class Message:
    warning: EarlyWarning
    release: Release
    retracted: bool = False

    @property
    def sent(self) -> datetime | None:
        if self.release.status == "published" and not self.retracted:
            return self.release.published_at
        return None

    @property
    def status(self) -> str:
        if self.retracted:
            return "retracted"
        if self.release.status == "published":
            return "published"
        if self.release.status == "withdrawn":
            return "withdrawn"
        return "draft"


@dataclass
class Chain:
    messages: list[Message] = field(default_factory=list)

    @property
    def published(self) -> list[Message]:
        sent = [m for m in self.messages if m.sent is not None]
        return sorted(sent, key=lambda m: (m.sent, m.warning.id))

    @property
    def current(self) -> Message | None:
        published = self.published
        return published[-1] if published else None

    def expires(self, m: Message) -> datetime | None:
        if m.warning.msg_type == "Cancel" and m.warning.expires is None and m.sent is not None:
            return m.sent + CANCEL_LISTED_FOR
        return m.warning.expires

    def state(self, now: datetime) -> str:
        current = self.current
        if current is None:
            return "pending"
        if current.warning.msg_type == "Cancel":
            return "cancelled"
        expires = self.expires(current)
        return "expired" if expires is not None and expires <= now else "active"

    def message_status(self, m: Message) -> str:
        status = m.status
        if status == "published" and m is not self.current:
            return "superseded"
        return status

    def references(self, m: Message) -> list[Message]:
        """The earlier published messages of the chain, oldest first (CAP <references>)."""
        if m.sent is None:
            return []
        sent = m.sent
        return [p for p in self.published if p.sent is not None and p.sent < sent]


async def _chain(session: AsyncSession, chain_id: str) -> Chain:
    return (await _chains(session, {chain_id}))[chain_id]


async def _chains(session: AsyncSession, chain_ids: set[str]) -> dict[str, Chain]:
    """Several chains with their releases, in two queries however many there are."""
    if not chain_ids:
        return {}
    rows = (
        await session.execute(
            select(EarlyWarning, Release)
            .join(Release, Release.id == EarlyWarning.release_id)
            .where(EarlyWarning.chain_id.in_(chain_ids))
            .order_by(EarlyWarning.created_at, EarlyWarning.id)
        )
    ).all()
    retracted = await _retracted_among(session, [r.id for _, r in rows])
    chains = {chain_id: Chain() for chain_id in chain_ids}
    for w, r in rows:
        chains[w.chain_id].messages.append(Message(w, r, r.id in retracted))
    return chains


def _message_in(chain: Chain, warning_id: str) -> Message:
    for m in chain.messages:
        if m.warning.id == warning_id:
            return m
    raise not_found("warning")


# -- loading ------------------------------------------------------------------------------


def visible_to(warning: EarlyWarning, actor: Principal) -> bool:
    return (
        warning.org_id == actor.org_id
        or warning.division_code in actor.jurisdiction
        or actor.sees_any(a["code"] for a in warning.areas)
    )


async def get_visible(
    session: AsyncSession, warning_id: str, actor: Principal, *, for_update: bool = False
) -> EarlyWarning:
    warning = await fetch(session, EarlyWarning, warning_id, for_update=for_update)
    if warning is None or not visible_to(warning, actor):
        raise not_found("warning")
    return warning


# -- checks ---------------------------------------------------------------------------------


def _areas(codes: list[str], actor: Principal, field_name: str = "areas") -> list[dict[str, Any]]:
    """Art. 24: the area a warning covers, as GB/T 2260 codes in the issuer's jurisdiction."""
    tree = directory.tree()
    out: list[dict[str, Any]] = []
    for i, code in enumerate(codes):
        if code not in tree:
            raise invalid(f"{field_name}[{i}]", f"unknown division code {code!r} (GB/T 2260)")
        if not (len(code) == 6 and code.isdigit()):
            # CAP geocodes are GB/T 2260 codes; Gui'an New District has none of its own.
            raise invalid(
                f"{field_name}[{i}]",
                f"{code} has no GB/T 2260 code; name the counties the warning covers",
            )
        if code not in actor.jurisdiction:
            raise Problem(
                403,
                "outside-jurisdiction",
                "Outside jurisdiction",
                f"{field_name}[{i}]: {code} is outside your organ's jurisdiction.",
                errors=[{"field": f"{field_name}[{i}]", "message": "outside your jurisdiction"}],
            )
        if any(a["code"] == code for a in out):
            continue
        division = tree.get(code)
        out.append({"code": code, "name_zh": division.name_zh, "name_en": division.name_en})
    return out


# A warning concerns what is coming (Art. 24): its times lie within a year of now.
HORIZON = timedelta(days=366)


def _check_times(onset: datetime, expires: datetime | None, now: datetime) -> None:
    for name, at in (("onset", onset), ("expires", expires)):
        if at is not None and abs(at - now) > HORIZON:
            raise invalid(name, "is more than a year away from now")
    if expires is not None:
        if expires <= onset:
            raise invalid("expires", "is not after onset")
        if expires <= now:
            raise invalid("expires", "has already passed")


def _headline(org: Org, msg_type: str, event: str, colour: str) -> str:
    return f"{org.name_zh}{MSG_VERB_ZH[msg_type]}{event}{COLOUR_ZH[colour]}预警"


def _local(at: datetime | None) -> str:
    if at is None:
        return "另行通知"
    return at.astimezone(SHANGHAI).strftime("%Y年%m月%d日%H时%M分")


def _release_text(w: EarlyWarning) -> str:
    """The release that carries the warning on the channels: Art. 24's colour, start,
    area and what to do, in the words people read."""
    areas = "、".join(a["name_zh"] for a in w.areas)
    lines = [w.headline, "", w.description, ""]
    if w.msg_type == "Cancel":
        lines.append(f"解除区域：{areas}。")
    else:
        lines += [
            f"预警级别：{COLOUR_ZH[w.colour]}（{COLOUR_LEVEL[w.colour]}级）。",
            f"预警区域：{areas}。",
            f"起始时间：{_local(w.onset)}；截止时间：{_local(w.expires)}。",
            "",
            f"防御指引：{w.instruction}",
        ]
    if w.reason:
        lines += ["", f"说明：{w.reason}"]
    return "\n".join(lines).strip()


# -- identifiers ----------------------------------------------------------------------------


def _division_for_identifier(org: Org) -> str:
    # Gui'an New District has no GB/T 2260 code: its organs issue under the province's.
    if len(org.division_code) == 6 and org.division_code.isdigit():
        return org.division_code
    return directory.tree().province_code


def sector_code(org: Org) -> str:
    return (
        SECTOR_CODES.get(org.id)
        or SECTOR_CODES.get(org.department_key or "")
        or DEFAULT_SECTOR_CODE
    )


async def _identifier(session: AsyncSession, org: Org, at: datetime) -> str:
    """GB/T 35965.1: division, sector, entry time and the serial within that second."""
    prefix = make_identifier(_division_for_identifier(org), sector_code(org), at, 0)[:-1]
    if dialect_name(session) == "postgresql":
        # Two organs sharing a prefix in one second must not draw the same serial.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(prefix.encode())}
        )
    count = (
        await session.execute(
            select(func.count())
            .select_from(EarlyWarning)
            .where(EarlyWarning.identifier.like(prefix + "%"))
        )
    ).scalar_one()
    if count >= 10:
        raise conflict(
            "identifier-serials-spent",
            "Ten warnings were entered for this organ code in this second (GB/T 35965.1 "
            "serials 0-9); enter this one again in a second.",
        )
    return f"{prefix}{count}"


def _sender(org: Org, public_url: str) -> str:
    return f"{org.id}@{urlsplit(public_url).hostname or 'fabu'}"


# -- steps ------------------------------------------------------------------------------------


async def _draft_release(
    session: AsyncSession, w: EarlyWarning, channels: list[str], ctx: Context
) -> Release:
    body = ReleaseCreate(
        kind=ReleaseKind.early_warning,
        title=w.headline[:500],
        body=_release_text(w),
        channels=[Channel(c) for c in channels],
    )
    release, _ = await releases_wf.create(session, body, ctx, incident_id=w.incident_id)
    return release


def _divisions(w: EarlyWarning) -> list[str]:
    """Where the message's events are seen: the issuer's division and the areas covered."""
    return [w.division_code, *(a["code"] for a in w.areas)]


async def issue(session: AsyncSession, body: WarningCreate, ctx: Context) -> EarlyWarning:
    """Art. 24: colour, event, area, start and what to do; drafted with its release."""
    now = ctx.clock.now()
    org = await session.get(Org, ctx.actor.org_id)
    if org is None:
        raise not_found("organ")
    areas = _areas(body.areas, ctx.actor)
    _check_times(body.onset, body.expires, now)
    incident: Incident | None = None
    if body.incident_id is not None:
        incident = await incidents_wf.get_visible(session, body.incident_id, ctx.actor)
    warning_id = new_id("wrn")
    w = EarlyWarning(
        id=warning_id,
        chain_id=warning_id,
        references_id=None,
        msg_type="Alert",
        org_id=org.id,
        division_code=org.division_code,
        incident_id=incident.id if incident else None,
        colour=body.colour,
        event=body.event,
        category=body.category,
        urgency=body.urgency,
        certainty=body.certainty,
        response_types=list(body.response_types),
        headline=body.headline or _headline(org, "Alert", body.event, body.colour),
        description=body.description,
        instruction=body.instruction,
        areas=areas,
        onset=body.onset,
        expires=body.expires,
        identifier=await _identifier(session, org, now),
        sender=_sender(org, ctx.public_url),
        created_at=now,
        created_by_token=ctx.actor.token_id,
    )
    await _draft(session, w, Chain(), org, body.channels, ctx, now)
    return w


async def _draft(
    session: AsyncSession,
    w: EarlyWarning,
    chain: Chain,
    org: Org,
    channels: Iterable[str],
    ctx: Context,
    now: datetime,
    *,
    reason: str | None = None,
) -> None:
    """Store a new message of the chain with the release that carries it, as drafted."""
    release = await _draft_release(session, w, list(channels), ctx)
    w.release_id = release.id
    session.add(w)
    await session.flush()
    chain.messages.append(Message(w, release))
    data = _view(w, chain, org, ctx.public_url, now)
    await log.record(
        session,
        "warning.drafted",
        action="warning.drafted",
        entity_type="warning",
        entity_id=w.id,
        at=now,
        actor=ctx.actor,
        incident_id=w.incident_id,
        org_id=w.org_id,
        division_codes=_divisions(w),
        data=data,
        after=data,
        reason=reason,
    )


async def _follow(
    session: AsyncSession, warning_id: str, ctx: Context, now: datetime, action: str
) -> tuple[Chain, Message, Org]:
    """The chain's message in force, which an Update or a Cancel follows."""
    w = await get_visible(session, warning_id, ctx.actor, for_update=True)
    org = await session.get(Org, w.org_id)
    assert org is not None
    if ctx.actor.org_id != w.org_id:
        raise forbidden(f"Only {w.org_id}, which issued the warning, may {action} it.")
    chain = await _chain(session, w.chain_id)
    current = chain.current
    if current is None:
        raise conflict(
            "warning-not-published",
            f"Nothing of this warning is published yet; change its draft instead of "
            f"issuing an {action}.",
        )
    state = chain.state(now)
    if state != "active":
        raise conflict(f"warning-{state}", f"The warning is {state}; issue a new one.")
    return chain, current, org


async def _next_message(
    session: AsyncSession,
    chain: Chain,
    base: EarlyWarning,
    org: Org,
    msg_type: str,
    ctx: Context,
    now: datetime,
    *,
    reason: str,
    channels: Iterable[str],
    **content: Any,
) -> EarlyWarning:
    """A message following `base` in its chain, drafted with its release: it references
    `base` and keeps its incident and category; `content` is what this message says."""
    w = EarlyWarning(
        id=new_id("wrn"),
        chain_id=base.chain_id,
        references_id=base.id,
        msg_type=msg_type,
        org_id=org.id,
        division_code=org.division_code,
        incident_id=base.incident_id,
        category=base.category,
        identifier=await _identifier(session, org, now),
        sender=_sender(org, ctx.public_url),
        reason=reason,
        created_at=now,
        created_by_token=ctx.actor.token_id,
        **content,
    )
    await _draft(session, w, chain, org, channels, ctx, now, reason=reason)
    return w


async def update(
    session: AsyncSession, warning_id: str, body: WarningUpdate, ctx: Context
) -> EarlyWarning:
    """A CAP Update replacing the message in force; unchanged fields carry over."""
    now = ctx.clock.now()
    chain, current, org = await _follow(session, warning_id, ctx, now, "update")
    base = current.warning
    colour = body.colour or base.colour
    event = body.event or base.event
    areas = _areas(body.areas, ctx.actor) if body.areas is not None else list(base.areas)
    onset = body.onset or base.onset
    expires = body.expires if body.expires is not None else base.expires
    if onset is not None:
        _check_times(onset, expires, now)
    return await _next_message(
        session,
        chain,
        base,
        org,
        "Update",
        ctx,
        now,
        reason=body.reason,
        channels=body.channels,
        colour=colour,
        event=event,
        urgency=body.urgency or base.urgency,
        certainty=body.certainty or base.certainty,
        response_types=(
            list(body.response_types)
            if body.response_types is not None
            else list(base.response_types)
        ),
        headline=body.headline or _headline(org, "Update", event, colour),
        description=body.description or base.description,
        instruction=body.instruction or base.instruction,
        areas=areas,
        onset=onset,
        expires=expires,
    )


async def cancel(
    session: AsyncSession, warning_id: str, body: WarningCancel, ctx: Context
) -> EarlyWarning:
    """A CAP Cancel: the warning no longer applies. It too passes the release work flow."""
    now = ctx.clock.now()
    chain, current, org = await _follow(session, warning_id, ctx, now, "cancel")
    base = current.warning
    return await _next_message(
        session,
        chain,
        base,
        org,
        "Cancel",
        ctx,
        now,
        reason=body.reason,
        channels=body.channels,
        colour=base.colour,
        event=base.event,
        urgency="Past",
        certainty=base.certainty,
        response_types=["AllClear"],
        headline=_headline(org, "Cancel", base.event, base.colour),
        description=body.reason,
        instruction=f"{base.event}{COLOUR_ZH[base.colour]}预警解除。",
        areas=list(base.areas),
        onset=base.onset,
        expires=chain.expires(current),
    )


async def publish(session: AsyncSession, warning_id: str, ctx: Context) -> EarlyWarning:
    """Publish the message's release (the last step of its work flow); the release work
    flow announces it (on_release_published)."""
    w = await get_visible(session, warning_id, ctx.actor, for_update=True)
    await releases_wf.publish(session, w.release_id, ctx)
    return w


async def on_release_published(
    session: AsyncSession, release: Release, *, at: datetime, public_url: str
) -> None:
    """Announce `warning.published` for the message an early-warning release carries.

    Called by the release work flow's publish step, however the release was published;
    `announced_at` guards against announcing twice."""
    if release.kind != ReleaseKind.early_warning.value:
        return
    w = (
        await session.execute(select(EarlyWarning).where(EarlyWarning.release_id == release.id))
    ).scalar_one_or_none()
    if w is None or w.announced_at is not None:
        return
    w.announced_at = at
    org = await session.get(Org, w.org_id)
    assert org is not None
    chain = await _chain(session, w.chain_id)
    data = _view(w, chain, org, public_url, at)
    await log.append(
        session,
        "warning.published",
        at=at,
        incident_id=w.incident_id,
        org_id=w.org_id,
        division_codes=_divisions(w),
        data=data,
    )


# -- views ------------------------------------------------------------------------------------


def cap_url(public_url: str, warning_id: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/warnings/{warning_id}.cap"


def feed_url(public_url: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/feeds/warnings.atom"


def _view(
    w: EarlyWarning, chain: Chain, org: Org | None, public_url: str, now: datetime
) -> dict[str, Any]:
    m = _message_in(chain, w.id)
    state = chain.state(now)
    release = m.release
    return {
        "id": w.id,
        "chain_id": w.chain_id,
        "msg_type": w.msg_type,
        "references_id": w.references_id,
        "references": [p.warning.id for p in chain.references(m)],
        "identifier": w.identifier,
        "sender": w.sender,
        "org": org_ref(org) or {"id": w.org_id},
        "incident_id": w.incident_id,
        "colour": w.colour,
        "colour_label": {"zh": f"{COLOUR_ZH[w.colour]}预警", "en": f"{w.colour} warning"},
        "level": COLOUR_LEVEL[w.colour],
        "severity": COLOUR_SEVERITY[w.colour],
        "event": w.event,
        "category": w.category,
        "urgency": w.urgency,
        "certainty": w.certainty,
        "response_types": w.response_types,
        "headline": w.headline,
        "description": w.description,
        "instruction": w.instruction,
        "areas": w.areas,
        "onset": iso(w.onset),
        "expires": iso(chain.expires(m)),
        "reason": w.reason,
        "status": chain.message_status(m),
        "sent_at": iso(m.sent),
        "chain_state": state,
        "in_force": state == "active" and m is chain.current,
        "release": {"id": release.id, "status": release.status, "url": release.url},
        "cap_url": cap_url(public_url, w.id) if m.sent is not None else None,
        "created_at": iso(w.created_at),
    }


async def view(session: AsyncSession, w: EarlyWarning, public_url: str, now: datetime) -> Any:
    chain = await _chain(session, w.chain_id)
    orgs = await load_orgs(session, [w.org_id])
    return _view(w, chain, orgs.get(w.org_id), public_url, now)


def _cap_view(chain: Chain, m: Message, org: Org | None) -> WarningView:
    w = m.warning
    assert m.sent is not None
    return WarningView(
        id=w.id,
        identifier=w.identifier,
        sender=w.sender,
        sent=m.sent,
        msg_type=w.msg_type,  # type: ignore[arg-type]
        colour=w.colour,  # type: ignore[arg-type]
        event=w.event,
        headline=w.headline,
        description=w.description,
        instruction=w.instruction,
        category=w.category,
        urgency=w.urgency,
        certainty=w.certainty,
        areas=tuple((a["code"], a["name_zh"]) for a in w.areas),
        onset=w.onset,
        expires=chain.expires(m),
        references=tuple(
            (p.warning.sender, p.warning.identifier, p.sent)
            for p in chain.references(m)
            if p.sent is not None
        ),
        sender_name=org.name_zh if org else "",
        response_types=tuple(w.response_types),
        web=m.release.url,
    )


async def cap_document(session: AsyncSession, warning_id: str) -> bytes:
    """The message as CAP 1.2; only what was published has one (public, like the feed)."""
    w = await session.get(EarlyWarning, warning_id)
    if w is None:
        raise not_found("warning")
    chain = await _chain(session, w.chain_id)
    m = _message_in(chain, w.id)
    if m.sent is None:
        raise not_found("warning")
    orgs = await load_orgs(session, [w.org_id])
    return to_cap_xml(_cap_view(chain, m, orgs.get(w.org_id)))


def _around(division: str) -> frozenset[str]:
    """The divisions whose warnings concern `division`: those within it and above it."""
    tree = directory.tree()
    return tree.descendants(division) | frozenset(tree.ancestors(division))


async def _chains_in_play(session: AsyncSession, now: datetime) -> list[str]:
    """Chains with a message that has not expired: only they can have one listed at `now`.
    Everything else is history the feed never shows, so it is never loaded and the feed
    stays fast however long the record (one probe of the expiry index)."""
    # A UNION of two index searches; SQLite scans the whole table for the OR of the two.
    rows = await session.execute(
        union(
            select(EarlyWarning.chain_id).where(EarlyWarning.expires > now),
            select(EarlyWarning.chain_id).where(EarlyWarning.expires.is_(None)),
        )
    )
    return list(rows.scalars())


async def atom_feed(
    session: AsyncSession,
    *,
    now: datetime,
    public_url: str,
    division: str | None = None,
    prune: bool = True,
) -> bytes:
    """The messages in force, one per warning, newest first (and Cancels until they lapse).

    `prune=False` reads every published message instead of the chains in play (the
    benchmark's baseline; the answer is the same)."""
    if division is not None and division not in directory.tree():
        raise invalid("division", f"unknown division code {division!r}")
    around = _around(division) if division is not None else None
    stmt = select(EarlyWarning, Release).join(Release, Release.id == EarlyWarning.release_id)
    if prune:
        # Driven by the chain index. Whether each message is published is decided here,
        # not in SQL: given the status too, SQLite walks every publication by its index.
        stmt = stmt.where(EarlyWarning.chain_id.in_(await _chains_in_play(session, now)))
        rows = (await session.execute(stmt)).all()
        retracted = await _retracted_among(session, [r.id for _, r in rows])
    else:
        stmt = stmt.where(Release.status == "published", Release.id.not_in(_retracted_ids()))
        rows = (await session.execute(stmt)).all()
        retracted = set()
    chains: dict[str, Chain] = {}
    for w, r in rows:
        if r.id not in retracted:
            # Drafts and withdrawn messages never count: Chain reads only what was sent.
            chains.setdefault(w.chain_id, Chain()).messages.append(Message(w, r))
    current = [m for m in (c.current for c in chains.values()) if m is not None]
    if around is not None:
        current = [m for m in current if any(a["code"] in around for a in m.warning.areas)]
    orgs = await load_orgs(session, (m.warning.org_id for m in current))
    entries = [
        _cap_view(chains[m.warning.chain_id], m, orgs.get(m.warning.org_id)) for m in current
    ]
    # to_atom orders by sent time; warnings sent in the same second keep a stable order.
    entries.sort(key=lambda v: v.id, reverse=True)
    url = feed_url(public_url)
    return to_atom(
        entries,
        feed_id=url,
        feed_url=url,
        updated=now,
        cap_url=lambda w: cap_url(public_url, w.id),
    )


async def _newest_first(
    session: AsyncSession, page: int = 200
) -> AsyncGenerator[list[EarlyWarning], None]:
    """Every message, newest first, a page at a time (visibility is decided per message)."""
    stmt = (
        select(EarlyWarning)
        .order_by(EarlyWarning.created_at.desc(), EarlyWarning.id.desc())
        .limit(page)
    )
    cursor: str | None = None
    while True:
        query = stmt
        if cursor is not None:
            query = stmt.where(
                pagination.after(cursor, EarlyWarning.created_at, EarlyWarning.id, descending=True)
            )
        rows = list((await session.execute(query)).scalars())
        yield rows
        if len(rows) < page:
            return
        cursor = pagination.encode(rows[-1].created_at, rows[-1].id)


async def listing(
    session: AsyncSession,
    actor: Principal,
    public_url: str,
    now: datetime,
    *,
    state: str | None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first, at most `limit` messages the actor may see."""
    out: list[dict[str, Any]] = []
    chains: dict[str, Chain] = {}
    async with aclosing(_newest_first(session)) as pages:
        async for page in pages:
            seen = [w for w in page if visible_to(w, actor)]
            # The page's chains and organs in one go rather than queries per message.
            chains.update(await _chains(session, {w.chain_id for w in seen} - chains.keys()))
            orgs = await load_orgs(session, (w.org_id for w in seen))
            for w in seen:
                chain = chains[w.chain_id]
                if state is None or chain.state(now) == state:
                    out.append(_view(w, chain, orgs.get(w.org_id), public_url, now))
                    if len(out) >= limit:
                        return out
    return out
