"""Records for auditors: the accountability timeline of an incident (Art. 39) and the
annual figures of an organ (Art. 38).

Read-only: everything here is assembled from the rows the other workflows wrote, so the
same database always gives the same record. Times are UTC; years are counted in
Asia/Shanghai (a release at 23:30 on 31 December Beijing time belongs to that year).
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.clock import iso
from app.models import (
    AuditEntry,
    Event,
    Obligation,
    ResponsibilityChange,
    SituationReport,
)
from app.models.conferences import PressConference
from app.models.obligations import AccountabilityRecord
from app.models.people import InterviewRequest
from app.models.releases import Release, ReleaseAct
from app.models.warnings import EarlyWarning
from app.rules.calendar import end_of_day
from app.rules.obligations import ObligationKind
from app.rules.releases import KIND_LABELS, ReleaseKind
from app.workflows import obligations as obligations_wf
from app.workflows.incidents import get_visible
from app.workflows.people import get_org_visible

# -- the accountability timeline (Art. 39) ----------------------------------------------------

TIMELINE_COLUMNS = (
    "at",
    "kind",
    "what",
    "org_id",
    "ref_id",
    "article",
    "due_at",
    "met_at",
    "breached_at",
    "lateness_seconds",
    "detail",
)


def _lateness(o: Obligation, now: datetime) -> int | None:
    """Seconds past the due time: when met late, by how much; when still unmet, so far."""
    if o.status == "cancelled":
        return None
    if o.met_at is not None:
        return max(0, int((o.met_at - o.due_at).total_seconds()))
    if now > o.due_at:
        return int((now - o.due_at).total_seconds())
    return None


def _obligation_outcome(o: Obligation, now: datetime) -> str:
    if o.status == "cancelled":
        return "cancelled"
    if o.met_at is not None:
        return "met late" if o.met_at > o.due_at else "met on time"
    if now > o.due_at:
        return "breached, still unmet"
    return "pending"


@dataclass
class Entry:
    at: datetime
    kind: str
    what: str
    org_id: str | None = None
    ref_id: str | None = None
    article: str | None = None
    due_at: datetime | None = None
    met_at: datetime | None = None
    breached_at: datetime | None = None
    lateness_seconds: int | None = None
    detail: str = ""
    data: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "at": iso(self.at),
            "kind": self.kind,
            "what": self.what,
            "org_id": self.org_id,
            "ref_id": self.ref_id,
            "article": self.article,
            "due_at": iso(self.due_at),
            "met_at": iso(self.met_at),
            "breached_at": iso(self.breached_at),
            "lateness_seconds": self.lateness_seconds,
            "detail": self.detail,
        }
        if self.data:
            body["data"] = self.data
        return body


def timeline_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The timeline's entries as CSV rows: every column present, blanks for nothing."""
    return [
        {c: "" if entry.get(c) is None else entry[c] for c in TIMELINE_COLUMNS}
        for entry in record["entries"]
    ]


_ORDER = {
    "fact": 0,
    "level": 1,
    "responsibility": 2,
    "escalation": 3,
    "command": 3,
    "obligation": 4,
    "release": 5,
    "release_step": 6,
    "conference": 7,
    "warning": 7,
    "interview": 7,
    "breach": 8,
    "closure": 9,
}


def _figures_text(figures: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(figures.items()))


async def accountability(
    session: AsyncSession, incident_id: str, actor: Principal, now: datetime
) -> dict[str, Any]:
    """Who knew what when, who was responsible, what was owed and when it was done."""
    incident = await get_visible(session, incident_id, actor)
    entries: list[Entry] = []

    # When each fact became known: the intake and every situation report.
    entries.append(
        Entry(
            at=incident.reported_at,
            kind="fact",
            what="incident reported",
            org_id=incident.reporter_org_id,
            ref_id=incident.id,
            detail=(
                f"occurred {iso(incident.occurred_at)}; received {iso(incident.reported_at)}; "
                f"entered {iso(incident.created_at)}"
            ),
        )
    )
    reports = await session.execute(
        select(SituationReport)
        .where(SituationReport.incident_id == incident.id)
        .order_by(SituationReport.reported_at, SituationReport.id)
    )
    for rpt in reports.scalars():
        entries.append(
            Entry(
                at=rpt.reported_at,
                kind="fact",
                what="situation report",
                org_id=rpt.org_id,
                ref_id=rpt.id,
                detail="; ".join(
                    p
                    for p in (
                        _figures_text(rpt.figures),
                        f"public opinion {rpt.public_opinion}" if rpt.public_opinion else "",
                        rpt.note,
                        f"entered {iso(rpt.received_at)}",
                    )
                    if p
                ),
                data={"figures": rpt.figures, "received_at": iso(rpt.received_at)},
            )
        )

    # Each level: as first classified, then every change.
    events = (
        await session.execute(
            select(Event)
            .where(
                Event.incident_id == incident.id,
                Event.type.in_(
                    ("incident.reported", "incident.level_changed", "escalation.raised")
                ),
            )
            .order_by(Event.seq)
        )
    ).scalars()
    for e in events:
        if e.type == "incident.reported":
            entries.append(
                Entry(
                    at=e.at,
                    kind="level",
                    what=f"classified level {e.data.get('level')}",
                    ref_id=e.id,
                    detail=f"category {e.data.get('category')}, subtype {e.data.get('subtype')}",
                )
            )
        elif e.type == "incident.level_changed":
            entries.append(
                Entry(
                    at=e.at,
                    kind="level",
                    what=f"level {e.data.get('from')} → {e.data.get('to')}",
                    ref_id=e.id,
                    detail=str(e.data.get("cause", "")),
                )
            )
        else:
            entries.append(
                Entry(
                    at=e.at,
                    kind="escalation",
                    what="escalated to the provincial government",
                    org_id=e.data.get("by_org_id"),
                    ref_id=e.id,
                    article="Art. 22",
                    detail=str(e.data.get("reason", "")),
                )
            )

    # Each change of the responsible organ (Art. 22, 25).
    changes = await session.execute(
        select(ResponsibilityChange)
        .where(ResponsibilityChange.incident_id == incident.id)
        .order_by(ResponsibilityChange.at, ResponsibilityChange.id)
    )
    for c in changes.scalars():
        entries.append(
            Entry(
                at=c.at,
                kind="responsibility",
                what=(
                    f"responsible: {c.to_org_id}"
                    if c.from_org_id is None
                    else f"responsibility {c.from_org_id} → {c.to_org_id}"
                ),
                org_id=c.to_org_id,
                ref_id=c.id,
                article="Art. 25" if incident.category == "social_security" else "Art. 22",
                detail=c.cause,
            )
        )

    audits = await session.execute(
        select(AuditEntry)
        .where(
            AuditEntry.incident_id == incident.id,
            AuditEntry.action.in_(
                (
                    "incident.command.establish",
                    "incident.command.stand_down",
                    "incident.classification",
                    "incident.close",
                )
            ),
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    for a in audits.scalars():
        if a.action.startswith("incident.command"):
            entries.append(
                Entry(
                    at=a.at,
                    kind="command",
                    what=(
                        "on-site command established"
                        if a.action.endswith("establish")
                        else "on-site command stood down"
                    ),
                    org_id=a.org_id,
                    ref_id=a.id,
                )
            )
        elif a.action == "incident.close":
            entries.append(
                Entry(
                    at=a.at,
                    kind="closure",
                    what="incident closed",
                    org_id=a.org_id,
                    ref_id=a.id,
                    detail=a.reason or "",
                )
            )
        else:
            entries.append(
                Entry(
                    at=a.at,
                    kind="level",
                    what="classification decided",
                    org_id=a.org_id,
                    ref_id=a.id,
                    detail=a.reason or "",
                )
            )

    # Each obligation: due, met or breached, and how late.
    obligation_rows = list(
        (
            await session.execute(
                select(Obligation)
                .where(Obligation.incident_id == incident.id)
                .order_by(Obligation.created_at, Obligation.due_at, Obligation.id)
            )
        ).scalars()
    )
    records = {
        r.obligation_id: r
        for r in await obligations_wf.accountability_for(session, incident_id=incident.id)
    }
    obligations_out = []
    for o in obligation_rows:
        lateness = _lateness(o, now)
        outcome = _obligation_outcome(o, now)
        entries.append(
            Entry(
                at=o.created_at,
                kind="obligation",
                what=f"{o.kind}: {outcome}",
                org_id=o.org_id,
                ref_id=o.id,
                article=o.article,
                due_at=o.due_at,
                met_at=o.met_at,
                breached_at=o.breached_at,
                lateness_seconds=lateness,
                detail=(
                    f"met by {o.met_by}"
                    if o.met_by
                    else (o.cancel_reason or "")
                    if o.status == "cancelled"
                    else ""
                ),
            )
        )
        record = records.get(o.id)
        if record is not None:
            entries.append(
                Entry(
                    at=record.breached_at,
                    kind="breach",
                    what=f"{o.kind} breached; accountability record",
                    org_id=record.org_id,
                    ref_id=record.id,
                    article=record.article,
                    detail=f"escalated to {record.escalated_to_org_id}",
                )
            )
        obligations_out.append(
            {
                "id": o.id,
                "kind": o.kind,
                "article": o.article,
                "org_id": o.org_id,
                "created_at": iso(o.created_at),
                "due_at": iso(o.due_at),
                "status": o.status,
                "outcome": outcome,
                "met_at": iso(o.met_at),
                "met_by": o.met_by,
                "breached_at": iso(o.breached_at),
                "cancelled_at": iso(o.cancelled_at),
                "cancel_reason": o.cancel_reason,
                "lateness_seconds": lateness,
                "accountability_record": (
                    {
                        "id": record.id,
                        "article": record.article,
                        "breached_at": iso(record.breached_at),
                        "escalated_to_org_id": record.escalated_to_org_id,
                    }
                    if record is not None
                    else None
                ),
            }
        )

    # Each release with its approval chain (Art. 15, 27, 39(6)).
    release_rows = list(
        (
            await session.execute(
                select(Release)
                .where(Release.incident_id == incident.id)
                .order_by(Release.created_at, Release.id)
            )
        ).scalars()
    )
    acts_by_release: dict[str, list[ReleaseAct]] = {r.id: [] for r in release_rows}
    if release_rows:
        acts = await session.execute(
            select(ReleaseAct)
            .where(ReleaseAct.release_id.in_(list(acts_by_release)))
            .order_by(ReleaseAct.at, ReleaseAct.round, ReleaseAct.step_index, ReleaseAct.id)
        )
        for act in acts.scalars():
            acts_by_release[act.release_id].append(act)
    releases_out = []
    for r in release_rows:
        entries.append(
            Entry(
                at=r.created_at,
                kind="release",
                what=f"{r.kind} drafted: {r.title}",
                org_id=r.org_id,
                ref_id=r.id,
            )
        )
        chain = []
        for act in acts_by_release[r.id]:
            chain.append(
                {
                    "round": act.round,
                    "step_index": act.step_index,
                    "step": act.step,
                    "org_id": act.org_id,
                    "token_id": act.token_id,
                    "roles": act.roles,
                    "at": iso(act.at),
                    "outcome": act.outcome,
                    "note": act.note,
                }
            )
            entries.append(
                Entry(
                    at=act.at,
                    kind="release_step",
                    what=f"{r.kind} {act.step}: {act.outcome}",
                    org_id=act.org_id,
                    ref_id=r.id,
                    article=_STEP_ARTICLES.get(act.step),
                    detail=f"round {act.round}; token {act.token_id}; {act.note or ''}".strip("; "),
                )
            )
        releases_out.append(
            {
                "id": r.id,
                "kind": r.kind,
                "title": r.title,
                "org_id": r.org_id,
                "status": r.status,
                "created_at": iso(r.created_at),
                "submitted_at": iso(r.submitted_at),
                "published_at": iso(r.published_at),
                "replaces_id": r.replaces_id,
                "approval_chain": chain,
            }
        )

    conferences = await session.execute(
        select(PressConference)
        .where(PressConference.incident_id == incident.id)
        .order_by(PressConference.created_at, PressConference.id)
    )
    for conf in conferences.scalars():
        entries.append(
            Entry(
                at=conf.created_at,
                kind="conference",
                what=f"press conference scheduled for {iso(conf.scheduled_at)}: {conf.title}",
                org_id=conf.host_org_id,
                ref_id=conf.id,
            )
        )
        if conf.held_at is not None:
            entries.append(
                Entry(
                    at=conf.held_at,
                    kind="conference",
                    what=f"press conference held: {conf.title}",
                    org_id=conf.host_org_id,
                    ref_id=conf.id,
                    article="Art. 23",
                )
            )

    warnings = await session.execute(
        select(EarlyWarning, Release.published_at)
        .join(Release, Release.id == EarlyWarning.release_id)
        .where(EarlyWarning.incident_id == incident.id, Release.published_at.is_not(None))
        .order_by(Release.published_at, EarlyWarning.id)
    )
    for w, sent in warnings.all():
        if sent is None:
            continue
        entries.append(
            Entry(
                at=sent,
                kind="warning",
                what=f"{w.colour} warning {w.msg_type}: {w.event}",
                org_id=w.org_id,
                ref_id=w.id,
                article="Art. 24",
            )
        )

    interviews = await session.execute(
        select(InterviewRequest)
        .where(InterviewRequest.incident_id == incident.id)
        .order_by(InterviewRequest.requested_at, InterviewRequest.id)
    )
    for i in interviews.scalars():
        entries.append(
            Entry(
                at=i.requested_at,
                kind="interview",
                what=f"interview requested by {i.reporter_name} ({i.outlet})",
                org_id=i.org_id,
                ref_id=i.id,
                article="Art. 21",
            )
        )
        if i.decided_at is not None:
            entries.append(
                Entry(
                    at=i.decided_at,
                    kind="interview",
                    what=f"interview {i.status}",
                    org_id=i.org_id,
                    ref_id=i.id,
                    article="Art. 39(2)" if i.status == "declined" else "Art. 21",
                    detail=i.reason or "",
                )
            )

    entries.sort(key=lambda e: (e.at, _ORDER.get(e.kind, 99)))
    return {
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "category": incident.category,
            "level": incident.level,
            "status": incident.status,
            "occurred_at": iso(incident.occurred_at),
            "reported_at": iso(incident.reported_at),
            "closed_at": iso(incident.closed_at),
            "division_codes": incident.division_codes,
            "responsible_org_id": incident.responsible_org_id,
        },
        "generated_at": iso(now),
        "entries": [e.as_json() for e in entries],
        "obligations": obligations_out,
        "releases": releases_out,
    }


_STEP_ARTICLES = {
    "review": "Art. 39(6)",
    "approve": "Art. 15",
    "cosign": "Art. 15",
    "publish": "Art. 27",
}


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """CSV with a UTF-8 byte-order mark so spreadsheet programs read the Chinese right."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def accountability_html(record: dict[str, Any]) -> str:
    """A page to print and sign: the incident, then every entry in order, then the clocks."""
    inc = record["incident"]
    e = html.escape

    def cell(value: Any) -> str:
        return f"<td>{e('' if value is None else str(value))}</td>"

    rows = "\n".join(
        "<tr>" + "".join(cell(r[c]) for c in TIMELINE_COLUMNS) + "</tr>"
        for r in timeline_rows(record)
    )
    obligation_rows = "\n".join(
        "<tr>"
        + "".join(
            cell(o[c])
            for c in (
                "kind",
                "article",
                "org_id",
                "due_at",
                "outcome",
                "met_at",
                "breached_at",
                "lateness_seconds",
            )
        )
        + "</tr>"
        for o in record["obligations"]
    )
    release_rows = "\n".join(
        "<tr>"
        + cell(r["kind"])
        + cell(r["title"])
        + cell(r["status"])
        + cell(r["published_at"])
        + cell(
            "; ".join(
                f"{a['step']} {a['outcome']} {a['at']} ({a['org_id']})" for a in r["approval_chain"]
            )
        )
        + "</tr>"
        for r in record["releases"]
    )
    head = "".join(f"<th>{e(c)}</th>" for c in TIMELINE_COLUMNS)
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>问责时间线 Accountability timeline — {e(inc["title"])}</title>
<style>
body {{ font: 11pt/1.4 "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2em; }}
th, td {{ border: 1px solid #999; padding: 2px 4px; vertical-align: top; font-size: 9pt; }}
th {{ background: #eee; }}
@media print {{ body {{ margin: 0; }} tr {{ page-break-inside: avoid; }} }}
</style>
</head>
<body>
<h1>问责时间线 Accountability timeline (Art. 39)</h1>
<table>
<tr><th>incident</th><td>{e(inc["id"])}</td><th>title</th><td>{e(inc["title"])}</td></tr>
<tr><th>category</th><td>{e(inc["category"])}</td><th>level</th><td>{e(inc["level"])}</td></tr>
<tr><th>occurred</th><td>{e(str(inc["occurred_at"]))}</td><th>reported</th>
<td>{e(str(inc["reported_at"]))}</td></tr>
<tr><th>responsible</th><td>{e(inc["responsible_org_id"])}</td><th>generated</th>
<td>{e(record["generated_at"])}</td></tr>
</table>
<h2>时间线 Timeline</h2>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
<h2>时限义务 Obligations</h2>
<table>
<thead><tr><th>kind</th><th>article</th><th>org_id</th><th>due_at</th><th>outcome</th>
<th>met_at</th><th>breached_at</th><th>lateness_seconds</th></tr></thead>
<tbody>
{obligation_rows}
</tbody>
</table>
<h2>发布 Releases</h2>
<table>
<thead><tr><th>kind</th><th>title</th><th>status</th><th>published_at</th>
<th>approval chain</th></tr></thead>
<tbody>
{release_rows}
</tbody>
</table>
</body>
</html>
"""


# -- the annual report (Art. 38) ---------------------------------------------------------------

# Art. 14(3): emergency information is what is released about an incident.
# Art. 14(2), 38: a response to a social hotspot is a release of that kind.
HOTSPOT_KINDS = frozenset({ReleaseKind.hotspot_response.value})


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[start, end) of a calendar year in Asia/Shanghai, in UTC."""
    return end_of_day(date(year - 1, 12, 31)), end_of_day(date(year, 12, 31))


def _breached(o: Obligation, now: datetime) -> bool:
    """Not met by its due time: breached by the scheduler, met late, or overdue now."""
    if o.status == "cancelled":
        return False
    if o.breached_at is not None:
        return True
    if o.met_at is not None:
        return o.met_at > o.due_at
    return now > o.due_at


async def annual_report(
    session: AsyncSession, year: int, org_id: str | None, actor: Principal, now: datetime
) -> dict[str, Any]:
    """Art. 38: what `org_id` (by default the actor's own organ) did in `year`."""
    org = await get_org_visible(session, org_id or actor.org_id, actor)
    start, end = year_bounds(year)

    def within(column: Any) -> Any:
        return (column >= start) & (column < end)

    held = (
        await session.execute(
            select(PressConference.id, PressConference.incident_id).where(
                PressConference.host_org_id == org.id, within(PressConference.held_at)
            )
        )
    ).all()
    releases = (
        await session.execute(
            select(Release.kind, Release.incident_id).where(
                Release.org_id == org.id, within(Release.published_at)
            )
        )
    ).all()
    by_kind = {kind.value: 0 for kind in ReleaseKind}
    by_kind.update(Counter(kind for kind, _ in releases))
    interviews = list(
        (
            await session.execute(
                select(InterviewRequest).where(
                    InterviewRequest.org_id == org.id,
                    within(InterviewRequest.requested_at) | within(InterviewRequest.decided_at),
                )
            )
        ).scalars()
    )

    def _in_year(at: datetime | None) -> bool:
        return at is not None and start <= at < end

    warnings = (
        await session.execute(
            select(EarlyWarning.msg_type)
            .join(Release, Release.id == EarlyWarning.release_id)
            .where(EarlyWarning.org_id == org.id, within(Release.published_at))
        )
    ).all()
    obligations = [
        o
        for o in (
            await session.execute(
                select(Obligation).where(Obligation.org_id == org.id, within(Obligation.due_at))
            )
        ).scalars()
        if _breached(o, now)
    ]
    records = (
        await session.execute(
            select(AccountabilityRecord.id).where(
                AccountabilityRecord.org_id == org.id, within(AccountabilityRecord.breached_at)
            )
        )
    ).all()
    breaches_by_kind = {kind.value: 0 for kind in ObligationKind}
    breaches_by_kind.update(Counter(o.kind for o in obligations))
    return {
        "year": year,
        "org": {
            "id": org.id,
            "name_zh": org.name_zh,
            "name_en": org.name_en,
            "kind": org.kind,
            "division_code": org.division_code,
        },
        "period": {"from": iso(start), "to": iso(end)},
        "generated_at": iso(now),
        "press_conferences_held": len(held),
        "press_conferences_on_incidents": sum(1 for _, inc in held if inc is not None),
        "releases_total": len(releases),
        "releases_by_kind": by_kind,
        "emergency_releases": sum(1 for _, inc in releases if inc is not None),
        "hotspot_responses": sum(1 for kind, _ in releases if kind in HOTSPOT_KINDS),
        "early_warnings": sum(1 for (t,) in warnings if t == "Alert"),
        "early_warning_messages": len(warnings),
        "interviews": {
            "requested": sum(1 for i in interviews if _in_year(i.requested_at)),
            "accepted": sum(
                1 for i in interviews if i.status == "accepted" and _in_year(i.decided_at)
            ),
            "declined": sum(
                1 for i in interviews if i.status == "declined" and _in_year(i.decided_at)
            ),
        },
        "breaches": len(obligations),
        "breaches_by_kind": breaches_by_kind,
        "accountability_records": len(records),
    }


REPORT_COLUMNS = ("org_id", "year", "metric", "label", "value")

_METRIC_LABELS = {
    "press_conferences_held": "举办新闻发布会 press conferences held",
    "press_conferences_on_incidents": "突发事件新闻发布会 conferences on incidents",
    "releases_total": "发布新闻稿 releases published",
    "emergency_releases": "突发事件信息发布 emergency releases",
    "hotspot_responses": "回应社会热点 responses to social hotspots",
    "early_warnings": "预警信息 early warnings issued",
    "early_warning_messages": "预警信息消息 early-warning messages (incl. updates, cancels)",
    "interviews.requested": "记者采访申请 interview requests",
    "interviews.accepted": "接受记者采访 interviews accepted",
    "interviews.declined": "谢绝记者采访 interviews declined",
    "breaches": "未按时履行 obligations not met in time",
    "accountability_records": "问责记录 accountability records (Art. 39(1))",
}


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as one metric per line, for CSV."""
    base = {"org_id": report["org"]["id"], "year": report["year"]}
    rows: list[dict[str, Any]] = []

    def add(metric: str, value: Any, label: str) -> None:
        rows.append({**base, "metric": metric, "label": label, "value": value})

    for key in (
        "press_conferences_held",
        "press_conferences_on_incidents",
        "releases_total",
        "emergency_releases",
        "hotspot_responses",
        "early_warnings",
        "early_warning_messages",
    ):
        add(key, report[key], _METRIC_LABELS[key])
    for kind, count in report["releases_by_kind"].items():
        zh, en = KIND_LABELS.get(ReleaseKind(kind), (kind, kind))
        add(f"releases_by_kind.{kind}", count, f"{zh} {en}")
    for key, count in report["interviews"].items():
        add(f"interviews.{key}", count, _METRIC_LABELS[f"interviews.{key}"])
    add("breaches", report["breaches"], _METRIC_LABELS["breaches"])
    for kind, count in report["breaches_by_kind"].items():
        add(f"breaches_by_kind.{kind}", count, kind)
    add(
        "accountability_records",
        report["accountability_records"],
        _METRIC_LABELS["accountability_records"],
    )
    return rows
