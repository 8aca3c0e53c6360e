"""GET /events: catching up on the log after a gap, within the caller's jurisdiction."""

from __future__ import annotations

from typing import Any

from app.clock import ManualClock
from tests.conftest import Api
from tests.live.harness import incident_body


async def reported(api: Api, code: str, title: str, **kw: Any) -> dict[str, Any]:
    reporter = await api.token("520000", "reporter")
    r = await api.post(
        "/api/v1/incidents", reporter, incident_body(api.clock.now(), code, title, **kw)
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_catching_up_pages_through_the_log_in_order(api: Api, clock: ManualClock) -> None:
    watcher = await api.token("io-520000", "viewer")
    for i in range(3):
        await reported(api, "520281", f"盘州事故 {i}")
    everything = (await api.get("/api/v1/events?after=0&limit=1000", watcher)).json()
    seqs = [e["seq"] for e in everything["items"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) >= 3
    assert everything["has_more"] is False
    assert everything["last_seq"] == seqs[-1]
    assert everything["now"] == "2026-11-27T02:00:00Z"

    paged: list[int] = []
    after = 0
    while True:
        page = (await api.get(f"/api/v1/events?after={after}&limit=2", watcher)).json()
        paged += [e["seq"] for e in page["items"]]
        after = page["next_after"]
        if not page["has_more"]:
            break
    assert paged == seqs

    first = everything["items"][0]
    assert first["type"] == "incident.reported"
    assert set(first) == {"seq", "id", "type", "at", "incident_id", "org_id", "data"}
    assert first["id"].startswith("evt_")


async def test_a_county_catches_up_only_on_its_own_incidents(api: Api) -> None:
    other = await reported(api, "520111", "花溪区燃气爆炸", deaths=1)
    own = await reported(api, "520281", "盘州市煤矿瓦斯爆炸", deaths=1)
    panzhou = await api.token("520281", "viewer")
    body = (await api.get("/api/v1/events?after=0", panzhou)).json()
    assert {e["incident_id"] for e in body["items"]} == {own["id"]}
    # Its position still moves past what it may not see, so it never scans it again.
    assert body["next_after"] == body["last_seq"]
    assert other["id"] not in {e.get("incident_id") for e in body["items"]}


async def test_the_latest_events_for_a_dashboard_opening(api: Api) -> None:
    watcher = await api.token("io-520000", "viewer")
    for i in range(2):
        await reported(api, "520281", f"事故 {i}")
    everything = (await api.get("/api/v1/events?after=0&limit=1000", watcher)).json()["items"]
    latest = (await api.get("/api/v1/events?last=3", watcher)).json()
    assert latest["items"] == everything[-3:]
    assert latest["next_after"] == latest["last_seq"] == everything[-1]["seq"]


async def test_bad_positions_are_refused_naming_the_field(api: Api) -> None:
    watcher = await api.token("io-520000", "viewer")
    await reported(api, "520281", "事故")
    for query, field in [
        ("after=-1", "after"),
        ("after=abc", "after"),
        ("after=99999", "after"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("after=1&last=5", "last"),
    ]:
        r = await api.get(f"/api/v1/events?{query}", watcher)
        assert r.status_code == 422, (query, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == field, query


async def test_the_log_is_not_shown_without_a_token(api: Api) -> None:
    r = await api.get("/api/v1/events?after=0", {})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
