"""GET /events: catching up on the log after a gap, within the caller's jurisdiction."""

from __future__ import annotations

from typing import Any

from app.clock import ManualClock
from app.events import log
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


async def test_a_caller_who_sees_little_of_a_long_log_is_answered_after_5000_rows(
    api: Api, clock: ManualClock
) -> None:
    async with api.db.write() as session:
        first = await log.append(
            session, "incident.updated", at=clock.now(), division_codes=["520111"], data={}
        )
        for _ in range(5000):
            await log.append(
                session,
                "incident.updated",
                at=clock.now(),
                division_codes=["520111"],
                data={},
                flush=False,
            )
        own = await log.append(
            session, "incident.updated", at=clock.now(), division_codes=["520281"], data={"n": 1}
        )
    assert own.seq == first.seq + 5001
    panzhou = await api.token("520281", "viewer")

    page = (await api.get("/api/v1/events?after=0&limit=10", panzhou)).json()
    # Huaxi's 5,001 events are not Panzhou's: the scan stops after 5,000 rows, empty-handed,
    # and says where to carry on.
    assert page["items"] == []
    assert page["next_after"] == first.seq + 4999
    assert page["has_more"] is True
    assert page["last_seq"] == own.seq

    rest = (await api.get(f"/api/v1/events?after={page['next_after']}", panzhou)).json()
    assert [e["seq"] for e in rest["items"]] == [own.seq]
    assert rest["next_after"] == own.seq and rest["has_more"] is False
    # An event of no incident and no organ carries neither key.
    assert set(rest["items"][0]) == {"seq", "id", "type", "at", "data"}


async def test_a_prefecture_sees_its_counties_and_a_provincial_department_the_province(
    api: Api,
) -> None:
    # RULES §6: an organ's jurisdiction is its division and every division below it;
    # provincial departments see the whole province.
    panzhou = await reported(api, "520281", "盘州市煤矿瓦斯爆炸", deaths=1)
    huaxi = await reported(api, "520111", "花溪区燃气爆炸", deaths=1)
    seen: dict[str, set[str]] = {}
    for org in ("520200", "520100", "dept-emergency_management"):
        body = (await api.get("/api/v1/events?after=0", await api.token(org, "viewer"))).json()
        seen[org] = {e["incident_id"] for e in body["items"]}
    assert seen["520200"] == {panzhou["id"]}  # Liupanshui: Panzhou is one of its counties
    assert seen["520100"] == {huaxi["id"]}  # Guiyang: Huaxi is one of its districts
    assert seen["dept-emergency_management"] == {panzhou["id"], huaxi["id"]}
