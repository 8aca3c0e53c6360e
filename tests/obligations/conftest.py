"""Helpers for the obligation scenarios: report incidents, move the clock, fire, read events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.db import Database
from app.models import Event, Obligation, ObligationTimer
from app.models.obligations import AccountabilityRecord
from app.scheduler.firing import FireReport, fire_due
from tests.conftest import Api

PROVINCE = "520000"
LIUPANSHUI = "520200"  # prefecture
PANZHOU = "520281"  # county of Liupanshui
NANMING = "520102"  # county of Guiyang


def utc(text: str) -> datetime:
    """'2026-10-13T16:00:00Z' → an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Scenario:
    """An API client with the tokens the scenarios use, and the clock and database beside."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.db: Database = api.db
        self.clock: ManualClock = api.clock
        self.headers: dict[str, dict[str, str]] = {}

    async def as_(self, org: str, *roles: str) -> dict[str, str]:
        key = f"{org}:{','.join(roles)}"
        if key not in self.headers:
            self.headers[key] = await self.api.token(org, *roles)
        return self.headers[key]

    async def report(self, **body: Any) -> dict[str, Any]:
        body.setdefault("category", "accident")
        body.setdefault("subtype", "mining")
        body.setdefault("title", "Coal mine flooding")
        body.setdefault("division_codes", [PANZHOU])
        for key in ("occurred_at", "reported_at"):
            if isinstance(body.get(key), datetime):
                body[key] = z(body[key])
        r = await self.api.post("/api/v1/incidents", await self.as_(PROVINCE, "reporter"), body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def post(self, url: str, body: Any, org: str = PROVINCE, *roles: str) -> dict[str, Any]:
        return await self.post_as(url, await self.as_(org, *(roles or ("reporter",))), body)

    async def post_as(self, url: str, headers: dict[str, str], body: Any) -> dict[str, Any]:
        r = await self.api.post(url, headers, body)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    async def incident(self, incident_id: str) -> dict[str, Any]:
        r = await self.api.get(
            f"/api/v1/incidents/{incident_id}", await self.as_(PROVINCE, "viewer")
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def obligation(self, incident_id: str, kind: str) -> dict[str, Any]:
        found = [
            o
            for o in (await self.incident(incident_id))["obligations"]
            if o["kind"] == kind and o["status"] != "cancelled"
        ]
        assert len(found) == 1, found
        return found[0]

    async def at(self, when: datetime) -> FireReport:
        """Move the clock to `when` and let the scheduler's core fire what is due."""
        self.clock.set(when)
        return await fire_due(self.db, self.clock)


@pytest.fixture
def scenario(api: Api) -> Scenario:
    return Scenario(api)


async def events(db: Database, type_: str, **data: Any) -> list[Event]:
    async with db.read() as session:
        rows = (
            await session.execute(select(Event).where(Event.type == type_).order_by(Event.seq))
        ).scalars()
        return [e for e in rows if all(e.data.get(k) == v for k, v in data.items())]


async def reminders(db: Database, obligation_id: str) -> list[tuple[str, datetime]]:
    return [
        (e.data["reminder"], e.at)
        for e in await events(db, "obligation.reminder", id=obligation_id)
    ]


async def accountability(db: Database, obligation_id: str) -> list[AccountabilityRecord]:
    async with db.read() as session:
        rows = await session.execute(
            select(AccountabilityRecord).where(AccountabilityRecord.obligation_id == obligation_id)
        )
        return list(rows.scalars())


async def timers(db: Database, obligation_id: str) -> list[ObligationTimer]:
    async with db.read() as session:
        rows = await session.execute(
            select(ObligationTimer)
            .where(ObligationTimer.obligation_id == obligation_id)
            .order_by(ObligationTimer.fire_at, ObligationTimer.name)
        )
        return list(rows.scalars())


async def obligation_row(db: Database, obligation_id: str) -> Obligation:
    async with db.read() as session:
        row = await session.get(Obligation, obligation_id)
        assert row is not None
        return row
