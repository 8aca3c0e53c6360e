"""Press conferences through the API (Art. 23, 28-35): rostrum, approval, filing, materials,
holding and the evaluation after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.clock import ManualClock
from app.scheduler.firing import fire_due
from app.workflows import obligations as obligations_wf
from tests.api.helpers import PANZHOU, assert_problem, create, stored_counts
from tests.conftest import T0, Api
from tests.records.helpers import (
    CONFERENCES,
    EMERGENCY,
    LIUPANSHUI_GOV,
    NATURAL_RESOURCES,
    OBLIGATIONS,
    PANZHOU_GOV,
    PROVINCE_GOV,
    PROVINCE_IO,
    conference_body,
    prepare,
    speakers,
)


async def _schedule(api: Api, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    host = kw.pop("host", EMERGENCY)
    at = kw.pop("scheduled_at", "2026-12-04T02:00:00Z")
    response = await api.post(CONFERENCES, headers, conference_body(host, at, **kw))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_department_files_its_conference_five_working_days_ahead(
    api: Api, clock: ManualClock
) -> None:
    # RULES "Counting days": a conference on Mon 12 Oct 2026 is filed by the end of Tue 29
    # Sep; the National Day holiday (1-7 Oct) does not count, the working Saturday 10 Oct does.
    clock.set(datetime(2026, 9, 21, 2, 0, tzinfo=UTC))
    office = await api.token(EMERGENCY, "drafter")
    conference = await _schedule(api, office, scheduled_at="2026-10-12T02:00:00Z")

    assert conference["status"] == "scheduled"
    assert conference["approval"]["required"] is False
    filing = conference["filing"]
    assert filing["required"] is True
    assert filing["article"] == "Art. 31(2)"
    assert filing["filed_at"] is None
    obligation = filing["obligation"]
    assert obligation["kind"] == "conference_filing"
    assert obligation["org_id"] == EMERGENCY
    assert obligation["due_at"] == "2026-09-29T16:00:00Z"
    assert obligation["status"] == "pending"
    assert obligation["subject"] == {"type": "press_conference", "id": conference["id"]}

    # Art. 33: nothing to file without the materials.
    refused = await api.post(f"{CONFERENCES}/{conference['id']}/file", office)
    assert_problem(refused, 422, "materials.press_release")
    assert refused.json()["article"] == "Art. 33"
    assert {e["field"] for e in refused.json()["errors"]} == {
        "materials.press_release",
        "materials.background",
        "materials.data_index",
    }

    prepared = await prepare(api, office, conference["id"])
    assert prepared["missing_materials"] == []
    assert [m["kind"] for m in prepared["materials"]] == [
        "press_release",
        "background",
        "data_index",
    ]

    clock.set(datetime(2026, 9, 29, 15, 59, 59, tzinfo=UTC))  # the last second of 29 Sep
    filed = await api.post(f"{CONFERENCES}/{conference['id']}/file", office)
    assert filed.status_code == 200, filed.text
    assert filed.json()["filing"]["filed_at"] == "2026-09-29T15:59:59Z"
    assert filed.json()["filing"]["obligation"]["status"] == "met"
    assert filed.json()["filing"]["obligation"]["met_at"] == "2026-09-29T15:59:59Z"

    again = await api.post(f"{CONFERENCES}/{conference['id']}/file", office)
    assert_problem(again, 409)


async def test_a_filing_one_second_late_is_still_recorded_with_its_time(
    api: Api, clock: ManualClock
) -> None:
    office = await api.token(EMERGENCY, "drafter")
    # Fri 4 Dec 2026 → 3, 2, 1 Dec, 30, 27 Nov → filed by the end of Fri 27 Nov.
    conference = await _schedule(api, office, scheduled_at="2026-12-04T02:00:00Z")
    due = conference["filing"]["obligation"]
    assert due["due_at"] == "2026-11-27T16:00:00Z"
    await prepare(api, office, conference["id"])

    # The last second of the day is still in time; at 24:00 Beijing time it is breached
    # and goes to the provincial information office (Art. 39(1)).
    clock.set(datetime(2026, 11, 27, 15, 59, 59, tzinfo=UTC))
    await fire_due(api.db, clock)
    assert (await api.get(f"{OBLIGATIONS}/{due['id']}", office)).json()["status"] == "pending"
    clock.set(datetime(2026, 11, 27, 16, 0, 0, tzinfo=UTC))
    await fire_due(api.db, clock)
    breached = (await api.get(f"{OBLIGATIONS}/{due['id']}", office)).json()
    assert breached["status"] == "breached"
    assert breached["breached_at"] == "2026-11-27T16:00:00Z"
    assert breached["escalated_to_org_id"] == PROVINCE_IO

    clock.set(datetime(2026, 11, 27, 16, 0, 1, tzinfo=UTC))
    filed = await api.post(f"{CONFERENCES}/{conference['id']}/file", office)
    assert filed.status_code == 200
    obligation = filed.json()["filing"]["obligation"]
    assert obligation["status"] == "met"
    assert obligation["met_at"] == "2026-11-27T16:00:01Z"
    assert obligation["breached_at"] == "2026-11-27T16:00:00Z"
    assert obligation["seconds_remaining"] == -1


async def test_a_prefecture_files_only_its_significant_conferences(api: Api) -> None:
    office = await api.token(LIUPANSHUI_GOV, "drafter")
    plain = await _schedule(api, office, host=LIUPANSHUI_GOV)
    assert plain["filing"] == {
        "required": False,
        "article": None,
        "filed_at": None,
        "obligation": None,
    }
    significant = await _schedule(api, office, host=LIUPANSHUI_GOV, significant=True)
    assert significant["filing"]["required"] is True
    assert significant["filing"]["article"] == "Art. 31(3)"
    assert significant["filing"]["obligation"]["article"] == "Art. 31(3)"
    assert significant["filing"]["obligation"]["due_at"] == "2026-11-27T16:00:00Z"
    # A county's conference is neither approved nor filed.
    county = await api.token(PANZHOU_GOV, "drafter")
    own = await _schedule(api, county, host=PANZHOU_GOV, significant=True)
    assert own["filing"]["required"] is False
    assert own["approval"]["required"] is False
    refused = await api.post(f"{CONFERENCES}/{own['id']}/file", county)
    assert_problem(refused, 409)


async def test_a_sixth_person_on_the_rostrum_is_refused_and_nothing_is_stored(
    api: Api, db: Any
) -> None:
    office = await api.token(EMERGENCY, "drafter")
    before = await stored_counts(db)
    response = await api.post(
        CONFERENCES,
        office,
        conference_body(EMERGENCY, "2026-12-04T02:00:00Z", speakers=speakers(6)),
    )
    assert_problem(response, 422, "speakers[5]")
    assert response.json()["article"] == "Art. 32"
    assert await stored_counts(db) == before
    five = await _schedule(api, office, speakers=speakers(5))
    assert [s["position"] for s in five["speakers"]] == [1, 2, 3, 4, 5]


async def test_the_provincial_government_holds_a_conference_only_once_approved(
    api: Api, clock: ManualClock
) -> None:
    io = await api.token(PROVINCE_IO, "drafter", "info_office")
    conference = await _schedule(api, io, host=PROVINCE_IO, title="省政府新闻发布会")
    assert conference["approval"]["required"] is True
    assert conference["approval"]["article"] == "Art. 31(1)"
    assert conference["approval"]["approver_required"] == "deputy_governor_in_charge"
    # Art. 31 filing is for departments and prefectures, not the provincial government.
    assert conference["filing"]["required"] is False
    await prepare(api, io, conference["id"])

    refused = await api.post(f"{CONFERENCES}/{conference['id']}/hold", io)
    assert_problem(refused, 409)
    assert refused.json()["article"] == "Art. 31(1)"

    # The information office does not approve its own government's conference.
    io_approver = await api.token(PROVINCE_IO, "approver")
    approval = {"approver_office": "deputy_governor_in_charge", "approver_name": "王副省长"}
    not_theirs = await api.post(f"{CONFERENCES}/{conference['id']}/approve", io_approver, approval)
    assert_problem(not_theirs, 403)
    assert not_theirs.json()["article"] == "Art. 31(1)"

    government = await api.token(PROVINCE_GOV, "approver")
    approved = await api.post(f"{CONFERENCES}/{conference['id']}/approve", government, approval)
    assert approved.status_code == 200, approved.text
    assert approved.json()["approval"]["approved_at"] == "2026-11-27T02:00:00Z"
    assert approved.json()["approval"]["approver_name"] == "王副省长"

    clock.advance(hours=2)
    held = await api.post(f"{CONFERENCES}/{conference['id']}/hold", io)
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "held"
    assert held.json()["held_at"] == "2026-11-27T04:00:00Z"


async def test_a_major_matter_needs_the_governor_not_the_deputy(api: Api) -> None:
    io = await api.token(PROVINCE_IO, "drafter")
    conference = await _schedule(api, io, host=PROVINCE_IO, major_matter=True)
    assert conference["approval"]["approver_required"] == "governor"
    government = await api.token(PROVINCE_GOV, "approver")
    deputy = {"approver_office": "deputy_governor_in_charge", "approver_name": "王副省长"}
    refused = await api.post(f"{CONFERENCES}/{conference['id']}/approve", government, deputy)
    assert_problem(refused, 422, "approver_office")
    assert refused.json()["article"] == "Art. 31(1)"
    governor = {"approver_office": "governor", "approver_name": "李省长"}
    approved = await api.post(f"{CONFERENCES}/{conference['id']}/approve", government, governor)
    assert approved.status_code == 200
    assert approved.json()["approval"]["approver_office"] == "governor"


async def test_holding_a_conference_on_a_major_accident_meets_the_24_hour_obligation(
    api: Api, clock: ManualClock
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter, figures={"deaths": 12})
    assert incident["level"] == "II"
    assert incident["responsible_org"]["id"] == EMERGENCY
    office = await api.token(EMERGENCY, "drafter")
    owed = await api.get(f"{OBLIGATIONS}?incident={incident['id']}&kind=press_conference", office)
    [due] = owed.json()["items"]
    assert due["due_at"] == "2026-11-28T01:00:00Z"  # occurred 01:00 + 24 h

    conference = await _schedule(
        api,
        office,
        incident_id=incident["id"],
        scheduled_at="2026-11-27T10:00:00Z",
        venue="盘州市应急指挥中心（近事发地，Art. 34）",
    )
    # An emergency conference is not filed five working days ahead: Art. 23 wants it in 24 h.
    assert conference["filing"]["required"] is False

    # Art. 33 holds for it too.
    refused = await api.post(f"{CONFERENCES}/{conference['id']}/hold", office)
    assert_problem(refused, 422, "materials.background")
    await prepare(api, office, conference["id"])

    clock.set(datetime(2026, 11, 27, 10, 5, tzinfo=UTC))
    held = await api.post(f"{CONFERENCES}/{conference['id']}/hold", office, {"note": "按时召开"})
    assert held.status_code == 200, held.text

    obligations = await api.get(
        f"{OBLIGATIONS}?incident={incident['id']}&kind=press_conference", office
    )
    [obligation] = obligations.json()["items"]
    assert obligation["status"] == "met"
    assert obligation["met_at"] == "2026-11-27T10:05:00Z"
    assert obligation["met_by"] == conference["id"]

    again = await api.post(f"{CONFERENCES}/{conference['id']}/hold", office)
    assert_problem(again, 409)


async def test_a_conference_held_in_the_quarter_meets_the_routine_obligation(
    api: Api, clock: ManualClock
) -> None:
    async with api.db.write() as session:
        opened = await obligations_wf.open_routine_conferences(session, clock.now())
    routine = next(o for o in opened if o.org_id == EMERGENCY)
    # Art. 29: the last day of the quarter, 31 Dec 2026, ends at 16:00 UTC.
    assert routine.due_at == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)

    office = await api.token(EMERGENCY, "drafter")
    conference = await _schedule(api, office, scheduled_at="2026-12-10T02:00:00Z")
    await prepare(api, office, conference["id"])
    clock.set(datetime(2026, 12, 10, 2, 30, tzinfo=UTC))
    assert (await api.post(f"{CONFERENCES}/{conference['id']}/hold", office)).status_code == 200
    response = await api.get(f"{OBLIGATIONS}?org={EMERGENCY}&kind=routine_conference", office)
    [obligation] = response.json()["items"]
    assert obligation["status"] == "met"
    assert obligation["met_at"] == "2026-12-10T02:30:00Z"
    assert obligation["met_by"] == conference["id"]


async def test_the_evaluation_after_collects_coverage(api: Api, clock: ManualClock) -> None:
    office = await api.token(EMERGENCY, "drafter")
    conference = await _schedule(api, office, scheduled_at="2026-11-27T06:00:00Z")
    evaluation = {
        "summary": "主要媒体均予报道，舆论总体平稳。",
        "texts_provided": True,
        "coverage": [
            {"outlet": "贵州日报", "medium": "print", "title": "我省通报安全生产形势"},
            {
                "outlet": "人民网",
                "medium": "online",
                "title": "贵州：全力做好安全生产",
                "url": "https://gz.people.com.cn/n1.html",
                "published_at": "2026-11-27T08:00:00Z",
                "tone": "positive",
                "reach": 120000,
            },
        ],
    }
    early = await api.post(f"{CONFERENCES}/{conference['id']}/evaluate", office, evaluation)
    assert_problem(early, 409)  # Art. 35: after the conference

    await prepare(api, office, conference["id"])
    clock.set(T0 + timedelta(hours=4))
    await api.post(f"{CONFERENCES}/{conference['id']}/hold", office)
    clock.set(T0 + timedelta(hours=10))
    evaluated = await api.post(f"{CONFERENCES}/{conference['id']}/evaluate", office, evaluation)
    assert evaluated.status_code == 200, evaluated.text
    body = evaluated.json()
    assert body["status"] == "evaluated"
    assert body["evaluation"]["evaluated_at"] == "2026-11-27T12:00:00Z"
    assert body["evaluation"]["texts_provided"] is True
    assert [c["outlet"] for c in body["evaluation"]["coverage"]] == ["贵州日报", "人民网"]
    assert body["evaluation"]["coverage_by_tone"] == {"positive": 1, "neutral": 1, "negative": 0}

    more = {
        "summary": "补充网络评论。",
        "coverage": [
            {"outlet": "微博", "medium": "social", "title": "网友评论", "tone": "negative"}
        ],
    }
    added = await api.post(f"{CONFERENCES}/{conference['id']}/evaluate", office, more)
    assert added.json()["evaluation"]["coverage_by_tone"] == {
        "positive": 1,
        "neutral": 1,
        "negative": 1,
    }
    assert added.json()["evaluation"]["summary"] == "补充网络评论。"
    assert added.json()["evaluation"]["evaluated_at"] == "2026-11-27T12:00:00Z"


async def test_conferences_are_seen_and_touched_only_within_jurisdiction(api: Api) -> None:
    liupanshui = await api.token(LIUPANSHUI_GOV, "drafter")
    conference = await _schedule(api, liupanshui, host=LIUPANSHUI_GOV)
    url = f"{CONFERENCES}/{conference['id']}"

    zunyi = await api.token("520300", "drafter", "approver", "info_office")
    assert_problem(await api.get(url, zunyi), 404)
    assert_problem(await api.post(f"{url}/hold", zunyi), 404)
    assert_problem(
        await api.post(f"{url}/materials", zunyi, {"kind": "background", "title": "x"}), 404
    )
    listed = await api.get(CONFERENCES, zunyi)
    assert listed.json()["items"] == []

    # The province sees it; Panzhou, below Liupanshui, does not see its prefecture's.
    province = await api.token(PROVINCE_IO, "viewer")
    assert (await api.get(url, province)).status_code == 200
    panzhou = await api.token(PANZHOU_GOV, "viewer")
    assert_problem(await api.get(url, panzhou), 404)

    # Scheduling for an organ outside one's reach names the field.
    response = await api.post(
        CONFERENCES, zunyi, conference_body(LIUPANSHUI_GOV, "2026-12-04T02:00:00Z")
    )
    assert_problem(response, 422, "host_org_id")
    # A county may not host a conference in its prefecture's name.
    county = await api.token(PANZHOU_GOV, "drafter")
    response = await api.post(
        CONFERENCES, county, conference_body(LIUPANSHUI_GOV, "2026-12-04T02:00:00Z")
    )
    assert_problem(response, 422, "host_org_id")


async def test_a_conference_in_the_past_is_refused(api: Api) -> None:
    office = await api.token(EMERGENCY, "drafter")
    response = await api.post(
        CONFERENCES, office, conference_body(EMERGENCY, "2026-11-26T02:00:00Z")
    )
    assert_problem(response, 422, "scheduled_at")
    viewer = await api.token(EMERGENCY, "viewer")
    response = await api.post(
        CONFERENCES, viewer, conference_body(EMERGENCY, "2026-12-04T02:00:00Z")
    )
    assert_problem(response, 403)


async def test_the_listing_shows_each_conference_as_it_is_shown_alone(api: Api) -> None:
    office = await api.token(EMERGENCY, "drafter")
    bare = await _schedule(api, office, speakers=speakers(1))
    prepared = await _schedule(api, office, scheduled_at="2026-12-05T02:00:00Z")
    await prepare(api, office, prepared["id"])
    other = await _schedule(
        api, await api.token(NATURAL_RESOURCES, "drafter"), host=NATURAL_RESOURCES
    )

    listed = (await api.get(CONFERENCES, office, params={"org": EMERGENCY})).json()["items"]
    assert [c["id"] for c in listed] == [bare["id"], prepared["id"]]
    for item in listed:
        alone = await api.get(f"{CONFERENCES}/{item['id']}", office)
        assert item == alone.json()
    assert len(listed[0]["speakers"]) == 1
    assert len(listed[1]["materials"]) == 3
    assert listed[1]["missing_materials"] == []
    assert other["id"] not in {c["id"] for c in listed}
