"""Shared words for the API scenarios: places, bodies, and a look at what is stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from app.db import Database
from app.models import Base
from tests.conftest import T0, Api

INCIDENTS = "/api/v1/incidents"

GUIZHOU = "520000"
GUIYANG = "520100"
LIUPANSHUI = "520200"
ZUNYI = "520300"
ANSHUN = "520400"
GUIAN = "52GA00"
NANMING = "520102"  # Guiyang
YUNYAN = "520103"  # Guiyang
HUAXI = "520111"  # Guiyang, partly run by Gui'an
QINGZHEN = "520181"  # Guiyang, partly run by Gui'an
XIXIU = "520402"  # Anshun, partly run by Gui'an
PINGBA = "520403"  # Anshun, partly run by Gui'an
ZHONGSHAN = "520201"  # Liupanshui
PANZHOU = "520281"  # Liupanshui
HONGHUAGANG = "520302"  # Zunyi
TONGZI = "520322"  # Zunyi

ONE_HOUR_AGO = (T0 - timedelta(hours=1)).isoformat().replace("+00:00", "Z")


def incident_body(**overrides: Any) -> dict[str, Any]:
    """A level IV coal-mine accident in Panzhou, an hour before the clock's start."""
    body: dict[str, Any] = {
        "category": "accident",
        "subtype": "mining",
        "title": "盘州市某煤矿透水事故",
        "occurred_at": ONE_HOUR_AGO,
        "division_codes": [PANZHOU],
        "place": "盘州市某煤矿",
        "figures": {"deaths": 0, "trapped": 4},
        "description": "井下透水，4人被困。",
    }
    body.update(overrides)
    return body


async def create(api: Api, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await api.post(INCIDENTS, headers, json=incident_body(**overrides))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def stored_counts(db: Database) -> dict[str, int]:
    """Row counts of every table: a refused request must leave all of them as they were."""
    counts = {}
    async with db.read() as session:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = (
                await session.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return counts


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    """An RFC 9457 problem with the status, naming `field` when given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert field in fields, f"{field!r} not named in {fields}"


async def timeline(api: Api, headers: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"{INCIDENTS}/{incident_id}/timeline", headers)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def events_of(entries: list[dict[str, Any]], type_: str | None = None) -> list[dict[str, Any]]:
    return [e for e in entries if e["kind"] == "event" and (type_ is None or e["type"] == type_)]


def audits_of(entries: list[dict[str, Any]], action: str | None = None) -> list[dict[str, Any]]:
    return [
        e for e in entries if e["kind"] == "audit" and (action is None or e["action"] == action)
    ]
