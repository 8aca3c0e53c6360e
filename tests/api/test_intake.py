"""Intake through the API: an incident reported once, found again, listed and paged."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.clock import ManualClock, iso
from tests.api.helpers import (
    GUIZHOU,
    HONGHUAGANG,
    INCIDENTS,
    LIUPANSHUI,
    NANMING,
    PANZHOU,
    TONGZI,
    ZHONGSHAN,
    ZUNYI,
    assert_problem,
    create,
    incident_body,
    stored_counts,
)
from tests.conftest import T0, Api


async def test_a_mine_flood_report_is_stored_classified_and_routed_to_the_county(
    api: Api,
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    response = await api.post(INCIDENTS, reporter, json=incident_body())
    assert response.status_code == 201
    incident = response.json()
    assert incident["id"].startswith("inc_")
    assert incident["status"] == "active"
    assert incident["category"] == "accident"
    assert incident["subtype"] == "mining"
    assert incident["occurred_at"] == "2026-11-27T01:00:00Z"
    # reported_at defaults to the moment of intake
    assert incident["reported_at"] == "2026-11-27T02:00:00Z"
    assert incident["division_codes"] == [PANZHOU]
    assert incident["figures"] == {"deaths": 0, "trapped": 4}
    assert incident["level"] == "IV"
    assert incident["responsible_org"]["id"] == f"gov-{PANZHOU}"
    assert incident["responsible_org"]["name_zh"] == "盘州市人民政府"
    assert incident["co_signers"] == []
    assert incident["on_site_command"] is None
    assert incident["escalated"] is False
    assert incident["obligations"] == []  # a level IV accident has no Art. 23 clock
    assert incident["version"] == 1

    again = await api.get(f"{INCIDENTS}/{incident['id']}", reporter)
    assert again.status_code == 200
    assert again.json() == incident


async def test_an_unknown_incident_is_not_found(api: Api) -> None:
    viewer = await api.token(GUIZHOU, "viewer")
    assert_problem(await api.get(f"{INCIDENTS}/inc_nonexistent", viewer), 404)


async def test_the_same_report_sent_twice_with_one_key_is_one_incident(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    keyed = {**reporter, "Idempotency-Key": "cmd-panzhou-0001"}
    first = await api.post(INCIDENTS, keyed, json=incident_body())
    assert first.status_code == 201
    before = await stored_counts(api.db)

    api.clock.advance(minutes=3)  # the command system retries after a timeout
    second = await api.post(INCIDENTS, keyed, json=incident_body())
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["reported_at"] == first.json()["reported_at"]
    assert await stored_counts(api.db) == before


async def test_a_key_reused_with_another_body_is_a_conflict_and_stores_nothing(
    api: Api,
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    keyed = {**reporter, "Idempotency-Key": "cmd-panzhou-0002"}
    assert (await api.post(INCIDENTS, keyed, json=incident_body())).status_code == 201
    before = await stored_counts(api.db)

    other = incident_body(figures={"deaths": 3})
    response = await api.post(INCIDENTS, keyed, json=other)
    assert_problem(response, 409)
    assert response.json()["type"].endswith("/idempotency-key-reused")
    assert await stored_counts(api.db) == before


async def test_two_organs_using_the_same_key_do_not_collide(api: Api) -> None:
    panzhou = await api.token(PANZHOU, "reporter")
    tongzi = await api.token(TONGZI, "reporter")
    key = {"Idempotency-Key": "report-1"}
    a = await api.post(INCIDENTS, {**panzhou, **key}, json=incident_body())
    b = await api.post(INCIDENTS, {**tongzi, **key}, json=incident_body(division_codes=[TONGZI]))
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
    assert b.json()["responsible_org"]["id"] == f"gov-{TONGZI}"


async def test_without_a_key_each_post_is_a_new_incident(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    a = await create(api, reporter)
    b = await create(api, reporter)
    assert a["id"] != b["id"]


async def _listed(api: Api, headers: dict[str, str], query: str) -> list[str]:
    response = await api.get(f"{INCIDENTS}?{query}", headers)
    assert response.status_code == 200, response.text
    return [i["id"] for i in response.json()["items"]]


async def test_the_list_filters_by_status_level_category_division_and_time(
    api: Api, clock: ManualClock
) -> None:
    province = await api.token(GUIZHOU, "reporter", "info_office")
    # Panzhou (Liupanshui): a level IV mine flood
    mine = await create(api, province)
    clock.advance(minutes=10)
    # Honghuagang (Zunyi): four dead in a fire, level III
    fire = await create(
        api,
        province,
        subtype="fire",
        title="红花岗区火灾",
        division_codes=[HONGHUAGANG],
        figures={"deaths": 4},
    )
    clock.advance(minutes=10)
    # Nanming (Guiyang): 40 people poisoned at a canteen, level IV public health
    canteen = await create(
        api,
        province,
        category="public_health",
        subtype="food_poisoning",
        title="南明区食堂食物中毒",
        division_codes=[NANMING],
        figures={"poisoned": 40},
    )
    clock.advance(minutes=10)
    # Zhongshan (Liupanshui): a landslide with 12 dead, level II, later closed
    landslide = await create(
        api,
        province,
        category="natural_disaster",
        subtype="geological",
        title="钟山区山体滑坡",
        division_codes=[ZHONGSHAN],
        figures={"deaths": 12},
    )
    closed = await api.post(
        f"{INCIDENTS}/{landslide['id']}/close", province, json={"reason": "处置结束"}
    )
    assert closed.status_code == 200

    assert (mine["level"], fire["level"], canteen["level"], landslide["level"]) == (
        "IV",
        "III",
        "IV",
        "II",
    )
    newest_first = [landslide["id"], canteen["id"], fire["id"], mine["id"]]
    assert await _listed(api, province, "") == newest_first
    assert await _listed(api, province, "status=closed") == [landslide["id"]]
    assert await _listed(api, province, "status=active") == [
        canteen["id"],
        fire["id"],
        mine["id"],
    ]
    assert await _listed(api, province, "level=III") == [fire["id"]]
    assert await _listed(api, province, "level=IV") == [canteen["id"], mine["id"]]
    assert await _listed(api, province, "category=public_health") == [canteen["id"]]
    # A prefecture stands for its counties' incidents.
    assert await _listed(api, province, f"division={LIUPANSHUI}") == [
        landslide["id"],
        mine["id"],
    ]
    assert await _listed(api, province, f"division={ZUNYI}") == [fire["id"]]
    assert await _listed(api, province, f"division={PANZHOU}") == [mine["id"]]
    assert await _listed(api, province, f"division={GUIZHOU}") == newest_first
    since = iso(T0 + timedelta(minutes=10))
    assert await _listed(api, province, f"since={since}") == newest_first[:3]
    assert await _listed(api, province, f"since={iso(T0 + timedelta(minutes=10, seconds=1))}") == [
        landslide["id"],
        canteen["id"],
    ]
    assert await _listed(api, province, "category=accident&level=IV&status=active") == [mine["id"]]


async def test_paging_through_the_list_shows_every_incident_once(
    api: Api, clock: ManualClock
) -> None:
    reporter = await api.token(LIUPANSHUI, "reporter")
    created = []
    for i in range(11):
        # Several incidents share a second, so the cursor must break ties.
        if i % 3 == 0:
            clock.advance(seconds=1)
        created.append((await create(api, reporter, title=f"事故 {i}"))["id"])

    seen: list[str] = []
    pages = 0
    url = f"{INCIDENTS}?limit=4"
    while True:
        response = await api.get(url, reporter)
        assert response.status_code == 200
        page = response.json()
        pages += 1
        seen += [i["id"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        url = f"{INCIDENTS}?limit=4&cursor={page['next_cursor']}"
        # An incident reported while paging appears on top, never inside later pages.
        if pages == 1:
            clock.advance(seconds=5)
            await create(api, reporter, title="翻页时新报")
    assert pages == 3
    assert len(seen) == len(set(seen)) == 11
    assert set(seen) == set(created)


async def test_a_cursor_that_the_service_did_not_issue_is_refused(api: Api) -> None:
    viewer = await api.token(GUIZHOU, "viewer")
    assert_problem(await api.get(f"{INCIDENTS}?cursor=%%%not-base64", viewer), 422, "cursor")


async def test_a_report_retried_in_parallel_with_one_key_is_still_one_incident(api: Api) -> None:
    # A command system that times out may resend before the first attempt has answered.
    reporter = await api.token(PANZHOU, "reporter")
    keyed = {**reporter, "Idempotency-Key": "cmd-panzhou-burst"}
    before = await stored_counts(api.db)
    responses = await asyncio.gather(
        *(api.post(INCIDENTS, keyed, json=incident_body()) for _ in range(6))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 200, 200, 201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    after = await stored_counts(api.db)
    assert after["incidents"] == before["incidents"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1


async def test_the_reported_event_and_its_audit_entry_carry_the_same_facts(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    created = (await api.post(INCIDENTS, reporter, json=incident_body())).json()
    timeline = (await api.get(f"{INCIDENTS}/{created['id']}/timeline", reporter)).json()
    reported = next(e for e in timeline["entries"] if e.get("type") == "incident.reported")
    audit = next(e for e in timeline["entries"] if e.get("action") == "incident.create")
    assert reported["data"]["escalated"] is False
    assert reported["data"]["on_site_command_active"] is False
    assert reported["data"] == audit["after"]
