"""The benchmarks' baselines: mounted only with FABU_BENCH_NOOP, and they store nothing."""

from __future__ import annotations

import httpx

from app.clock import ManualClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.api.helpers import PANZHOU, incident_body, stored_counts
from tests.conftest import Api


async def test_the_baselines_are_absent_unless_asked_for(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    assert (await api.post("/api/v1/_noop", reporter, json={})).status_code == 404
    r = await api.post("/api/v1/_noop/incidents", reporter, json=incident_body())
    assert r.status_code == 404


async def test_intake_without_the_database_answers_like_intake_and_stores_nothing(
    api: Api, settings: Settings, db: Database, clock: ManualClock
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    app = create_app(
        settings.model_copy(update={"bench_noop": True}), clock=clock, db=db, start_services=False
    )
    transport = httpx.ASGITransport(app=app)
    before = await stored_counts(db)
    async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as client:
        body = incident_body(figures={"deaths": 10})
        r = await client.post("/api/v1/_noop/incidents", headers=reporter, json=body)
        assert r.status_code == 200, r.text
        # The same checks as intake: a division outside the token's jurisdiction is refused.
        outside = incident_body(division_codes=["520102"])
        refused = await client.post("/api/v1/_noop/incidents", headers=reporter, json=outside)
    assert r.json()["level"] == "II"
    assert r.json()["responsible_org"]["id"] == "dept-emergency_management"  # routed (Art. 22)
    assert refused.status_code == 403
    assert await stored_counts(db) == before
