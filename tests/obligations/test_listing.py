"""GET /obligations: filters, order, and nothing outside the caller's jurisdiction."""

from __future__ import annotations

from datetime import timedelta

from app.workflows import obligations as flow
from tests.conftest import T0
from tests.obligations.conftest import NANMING, PANZHOU, Scenario, utc


async def _setup(scenario: Scenario) -> dict[str, str]:
    """A level II accident in Panzhou, regular information in Panzhou and in Nanming."""
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    async with scenario.db.write() as session:
        panzhou = await flow.open_regular_info(
            session, f"gov-{PANZHOU}", T0, subject_id="doc-p", at=T0
        )
        nanming = await flow.open_regular_info(
            session, f"gov-{NANMING}", T0, subject_id="doc-n", at=T0
        )
    first = await scenario.obligation(incident["id"], "first_release")
    return {
        "incident": incident["id"],
        "first": first["id"],
        "panzhou": panzhou.id,
        "nanming": nanming.id,
    }


async def test_the_province_sees_every_obligation_soonest_due_first(scenario: Scenario) -> None:
    ids = await _setup(scenario)
    r = await scenario.api.get("/api/v1/obligations", await scenario.as_("520000", "viewer"))
    assert r.status_code == 200
    items = r.json()["items"]
    assert [o["due_at"] for o in items] == sorted(o["due_at"] for o in items)
    assert {ids["first"], ids["panzhou"], ids["nanming"]} <= {o["id"] for o in items}
    first = next(o for o in items if o["id"] == ids["first"])
    assert first["seconds_remaining"] == 9000
    assert first["article"] == "Art. 23"


async def test_a_county_sees_its_own_and_its_incidents_but_not_another_prefectures(
    scenario: Scenario,
) -> None:
    ids = await _setup(scenario)
    r = await scenario.api.get("/api/v1/obligations", await scenario.as_(PANZHOU, "viewer"))
    seen = {o["id"] for o in r.json()["items"]}
    # The accident lies in Panzhou, though the provincial department owes its release.
    assert ids["first"] in seen
    assert ids["panzhou"] in seen
    assert ids["nanming"] not in seen
    r = await scenario.api.get(
        f"/api/v1/obligations/{ids['nanming']}", await scenario.as_(PANZHOU, "viewer")
    )
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_filters_by_organ_status_kind_due_time_and_incident(scenario: Scenario) -> None:
    ids = await _setup(scenario)
    headers = await scenario.as_("520000", "viewer")

    async def listed(**params: str) -> set[str]:
        r = await scenario.api.get("/api/v1/obligations", headers, params=params)
        assert r.status_code == 200, r.text
        return {o["id"] for o in r.json()["items"]}

    assert await listed(incident=ids["incident"]) >= {ids["first"]}
    assert ids["panzhou"] not in await listed(incident=ids["incident"])
    assert await listed(org=PANZHOU) == {ids["panzhou"]}  # a division code means its government
    assert await listed(org=f"gov-{NANMING}") == {ids["nanming"]}
    assert await listed(kind="regular_info") == {ids["panzhou"], ids["nanming"]}
    assert await listed(due_before="2026-11-27T04:30:01Z") == {ids["first"]}
    assert await listed(due_before="2026-11-27T04:30:00Z") == set()
    assert await listed(status="breached") == set()
    await scenario.at(utc("2026-11-27T04:30:00Z"))
    assert await listed(status="breached") == {ids["first"]}


async def test_pages_follow_the_cursor(scenario: Scenario) -> None:
    await _setup(scenario)
    headers = await scenario.as_("520000", "viewer")
    everything = (await scenario.api.get("/api/v1/obligations", headers)).json()["items"]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await scenario.api.get("/api/v1/obligations", headers, params=params)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [o["id"] for o in everything]


async def test_bad_filters_are_refused_naming_the_field(scenario: Scenario) -> None:
    headers = await scenario.as_("520000", "viewer")
    for params, field in (
        ({"status": "late"}, "status"),
        ({"kind": "tea_party"}, "kind"),
        ({"due_before": "tomorrow"}, "due_before"),
        ({"due_before": "2026-11-27T04:30:00"}, "due_before"),
        ({"cursor": "bm9wZQ"}, "cursor"),
        ({"limit": "0"}, "limit"),
    ):
        r = await scenario.api.get("/api/v1/obligations", headers, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_without_a_token_nothing_is_listed(scenario: Scenario) -> None:
    r = await scenario.api.client.get("/api/v1/obligations")
    assert r.status_code == 401
