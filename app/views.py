"""Response bodies (API.md shapes), built from rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import iso
from app.models import Division, Incident, Obligation, Org
from app.workflows import obligations as obligations_wf


def org_ref(org: Org | None) -> dict[str, Any] | None:
    if org is None:
        return None
    return {"id": org.id, "name_zh": org.name_zh, "name_en": org.name_en}


def org_view(org: Org) -> dict[str, Any]:
    return {
        "id": org.id,
        "name_zh": org.name_zh,
        "name_en": org.name_en,
        "kind": org.kind,
        "division_code": org.division_code,
        "parent_id": org.parent_id,
    }


def division_view(d: Division) -> dict[str, Any]:
    return {
        "code": d.code,
        "name_zh": d.name_zh,
        "name_en": d.name_en,
        "level": d.level,
        "parent_code": d.parent_code,
    }


# An organ's id and names never change once it exists, so a reference to it can be kept
# for the life of the process: most responses then name organs without a query.
_ORG_REFS: dict[str, Org] = {}


async def load_orgs(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, Org]:
    wanted = {i for i in ids if i}
    found = {i: _ORG_REFS[i] for i in wanted if i in _ORG_REFS}
    missing = wanted - found.keys()
    if missing:
        rows = await session.execute(select(Org).where(Org.id.in_(missing)))
        for org in rows.scalars():
            found[org.id] = org
            _ORG_REFS[org.id] = Org(
                id=org.id, name_zh=org.name_zh, name_en=org.name_en, kind=org.kind
            )
    return found


def incident_view(
    incident: Incident,
    *,
    orgs: Mapping[str, Org],
    obligations: Iterable[Obligation],
    now: datetime,
) -> dict[str, Any]:
    command = None
    if incident.on_site_command_active and incident.on_site_command_id:
        command = {
            "org_id": incident.on_site_command_id,
            "established_at": iso(incident.command_established_at),
        }
    return {
        "id": incident.id,
        "category": incident.category,
        "subtype": incident.subtype,
        "title": incident.title,
        "description": incident.description,
        "place": incident.place,
        "location": incident.location,
        "status": incident.status,
        "occurred_at": iso(incident.occurred_at),
        "reported_at": iso(incident.reported_at),
        "closed_at": iso(incident.closed_at),
        "division_codes": incident.division_codes,
        "figures": incident.figures,
        "criteria": incident.criteria,
        "level": incident.level,
        "level_basis": incident.level_basis,
        "level_known_at": incident.level_known_at,
        "public_opinion": incident.public_opinion,
        "responsible_org": org_ref(orgs.get(incident.responsible_org_id)),
        "co_signers": [org_ref(orgs.get(i)) or {"id": i} for i in incident.co_signer_ids],
        "on_site_command": command,
        "escalated": incident.escalated,
        "obligations": [obligations_wf.view(o, now) for o in obligations],
        "version": incident.version,
    }


async def incident_full(
    session: AsyncSession,
    incident: Incident,
    now: datetime,
    *,
    obligations: Iterable[Obligation] | None = None,
) -> dict[str, Any]:
    """The incident as API.md shows it; `obligations` when the caller already knows them."""
    orgs = await load_orgs(
        session, [incident.responsible_org_id, incident.on_site_command_id, *incident.co_signer_ids]
    )
    if obligations is None:
        obligations = await obligations_wf.for_incident(session, incident.id)
    return incident_view(incident, orgs=orgs, obligations=obligations, now=now)


async def incidents_page(
    session: AsyncSession, incidents: list[Incident], now: datetime
) -> list[dict[str, Any]]:
    """Many incidents with two extra queries, not two per incident."""
    ids = [i.id for i in incidents]
    org_ids: list[str | None] = []
    for i in incidents:
        org_ids += [i.responsible_org_id, i.on_site_command_id, *i.co_signer_ids]
    orgs = await load_orgs(session, org_ids)
    by_incident: dict[str, list[Obligation]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(Obligation).where(Obligation.incident_id.in_(ids)).order_by(Obligation.due_at)
        )
        for o in rows.scalars():
            by_incident[o.incident_id or ""].append(o)
    return [incident_view(i, orgs=orgs, obligations=by_incident[i.id], now=now) for i in incidents]
