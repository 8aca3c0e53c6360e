"""Webhook scenarios: a receiver on loopback, the worker on the test's manual clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.config import Settings
from app.db import Database
from app.events import log
from app.models.webhooks import DeliveryAttempt, WebhookDelivery
from app.publishing.delivery import Resolver
from app.publishing.worker import DeliveryWorker
from app.runtime import Runtime
from tests.conftest import Api
from tests.webhooks.receiver import Receiver

WEBHOOKS = "/api/v1/webhooks"
PANZHOU = "520281"  # Liupanshui
NANMING = "520102"  # Guiyang


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


def make_worker(
    settings: Settings, db: Database, clock: ManualClock, *, resolve: Resolver | None = None
) -> DeliveryWorker:
    return DeliveryWorker(
        Runtime(settings=settings, db=db, clock=clock), rng=random.Random(20161), resolve=resolve
    )


@pytest.fixture
async def worker(
    settings: Settings, db: Database, clock: ManualClock
) -> AsyncIterator[DeliveryWorker]:
    w = make_worker(settings, db, clock)
    yield w
    await w.stop()


async def run_once_with(
    settings: Settings, db: Database, clock: ManualClock, *, resolve: Resolver | None = None
) -> int:
    """One pass of a worker on other settings than the `worker` fixture's; how many sent."""
    w = make_worker(settings, db, clock, resolve=resolve)
    try:
        return await w.run_once()
    finally:
        await w.stop()


@pytest.fixture
async def admin(api: Api) -> dict[str, str]:
    return await api.token("520000", "admin")


@pytest.fixture
async def reporter(api: Api) -> dict[str, str]:
    return await api.token("520000", "reporter")


async def subscribe(
    api: Api,
    admin: dict[str, str],
    receiver: Receiver,
    path: str,
    *,
    channel: str = "generic",
    event_types: list[str] | None = None,
    org_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "url": receiver.url(path),
        "channel": channel,
        "event_types": event_types or ["incident.reported"],
    }
    if org_id is not None:
        body["org_id"] = org_id
    response = await api.post(WEBHOOKS, admin, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secrets[path] = created["secret"]
    return created


async def report(
    api: Api, reporter: dict[str, str], *, division: str = PANZHOU, title: str = "煤矿透水事故"
) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/incidents",
        reporter,
        json={
            "category": "accident",
            "subtype": "mining",
            "title": title,
            "occurred_at": "2026-11-27T01:00:00Z",
            "division_codes": [division],
            "figures": {"deaths": 0, "trapped": 4},
        },
    )
    assert response.status_code == 201, response.text
    incident: dict[str, Any] = response.json()
    return incident


async def reported_event_ids(db: Database) -> list[str]:
    from app.models import Event

    async with db.read() as session:
        rows = await session.execute(
            select(Event.id).where(Event.type == "incident.reported").order_by(Event.seq)
        )
        return list(rows.scalars())


async def publish_event(db: Database, at: datetime, data: dict[str, Any]) -> str:
    """A `release.published` event as the release workflow writes it (publication())."""
    async with db.write() as session:
        event = await log.append(
            session,
            "release.published",
            at=at,
            data=data,
            incident_id=data.get("incident_id"),
            org_id=data.get("org_id"),
            division_codes=data.get("division_codes", []),
        )
        return event.id


async def deliveries(db: Database, subscription_id: str) -> list[WebhookDelivery]:
    async with db.read() as session:
        rows = await session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.event_seq)
        )
        return list(rows.scalars())


async def attempts(db: Database, delivery_id: str) -> list[DeliveryAttempt]:
    async with db.read() as session:
        rows = await session.execute(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.number)
        )
        return list(rows.scalars())
