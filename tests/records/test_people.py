"""Spokespersons and press assistants (Art. 7-9) and media interview requests (Art. 21)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from app.clock import ManualClock
from app.scheduler.firing import fire_due
from tests.api.helpers import assert_problem
from tests.conftest import Api
from tests.records.helpers import (
    EMERGENCY,
    INTERVIEWS,
    LIUPANSHUI_GOV,
    OBLIGATIONS,
    PROVINCE_IO,
    REPORTS,
    SPOKESPERSONS,
    ZUNYI_GOV,
    parse_csv,
)


def appointment(role: str, name: str, on: str, **kw: Any) -> dict[str, Any]:
    body = {"role": role, "name": name, "title": "副厅长", "appointed_on": on}
    body.update(kw)
    return body


async def _appoint(api: Api, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(SPOKESPERSONS, headers, body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _remove(
    api: Api, headers: dict[str, str], person: dict[str, Any], on: str, reason: str = "工作调动"
) -> dict[str, Any]:
    """Record the removal: the person's entry, with the Art. 9 obligation it opened."""
    response = await api.post(
        f"{SPOKESPERSONS}/{person['id']}/remove", headers, {"removed_on": on, "reason": reason}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _obligation(api: Api, headers: dict[str, str], obligation_id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.get(f"{OBLIGATIONS}/{obligation_id}", headers)).json()
    return result


async def test_a_removal_is_reported_with_the_successor_within_a_month(
    api: Api, clock: ManualClock
) -> None:
    clock.set(datetime(2025, 6, 3, 2, 0, tzinfo=UTC))
    office = await api.token(EMERGENCY, "approver")
    zhang = await _appoint(api, office, appointment("spokesperson", "张伟", "2025-06-01"))
    assert zhang["org_id"] == EMERGENCY
    assert zhang["serving"] is True
    assert zhang["role_label"] == {"zh": "新闻发言人", "en": "spokesperson"}
    await _appoint(api, office, appointment("press_assistant", "李娜", "2025-06-01"))

    # Art. 9: a change on 31 Jan is reported by the end of 28 Feb (no 29th in 2026).
    clock.set(datetime(2026, 1, 31, 3, 0, tzinfo=UTC))
    removed = await _remove(api, office, zhang, "2026-01-31")
    assert removed["serving"] is False
    assert removed["removed_on"] == "2026-01-31"
    obligation = removed["obligation"]
    assert obligation["kind"] == "spokesperson_change"
    assert obligation["article"] == "Art. 9"
    assert obligation["org_id"] == EMERGENCY
    assert obligation["due_at"] == "2026-02-28T16:00:00Z"
    assert obligation["status"] == "pending"

    # A new press assistant does not fill a spokesperson's post.
    clock.set(datetime(2026, 2, 10, 2, 0, tzinfo=UTC))
    await _appoint(api, office, appointment("press_assistant", "赵敏", "2026-02-10"))
    assert (await _obligation(api, office, obligation["id"]))["status"] == "pending"

    clock.set(datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC))
    wang = await _appoint(api, office, appointment("spokesperson", "王芳", "2026-02-27"))
    met = await _obligation(api, office, obligation["id"])
    assert met["status"] == "met"
    assert met["met_at"] == "2026-02-28T15:59:59Z"
    assert met["met_by"] == wang["id"]

    again = await api.post(
        f"{SPOKESPERSONS}/{zhang['id']}/remove", office, {"removed_on": "2026-02-01", "reason": "x"}
    )
    assert_problem(again, 409)


async def test_a_change_not_reported_within_the_month_is_breached_at_midnight(
    api: Api, clock: ManualClock
) -> None:
    # Art. 9: removed on Sat 31 Jan 2026 → reported by 24:00 on 28 Feb, Beijing time.
    clock.set(datetime(2026, 1, 31, 3, 0, tzinfo=UTC))
    office = await api.token(EMERGENCY, "approver")
    zhang = await _appoint(api, office, appointment("spokesperson", "张伟", "2025-06-01"))
    obligation_id = (await _remove(api, office, zhang, "2026-01-31"))["obligation"]["id"]

    clock.set(datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC))
    await fire_due(api.db, clock)
    assert (await _obligation(api, office, obligation_id))["status"] == "pending"
    clock.set(datetime(2026, 2, 28, 16, 0, 0, tzinfo=UTC))
    await fire_due(api.db, clock)
    breached = await _obligation(api, office, obligation_id)
    assert breached["status"] == "breached"
    assert breached["breached_at"] == "2026-02-28T16:00:00Z"
    assert breached["escalated_to_org_id"] == PROVINCE_IO

    # Reporting the successor late still records when it came.
    clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    wang = await _appoint(api, office, appointment("spokesperson", "王芳", "2026-03-02"))
    met = await _obligation(api, office, obligation_id)
    assert (met["status"], met["met_at"], met["met_by"]) == (
        "met",
        "2026-03-02T02:00:00Z",
        wang["id"],
    )
    assert met["breached_at"] == "2026-02-28T16:00:00Z"
    report = (await api.get(f"{REPORTS}?year=2026", office)).json()
    assert report["breaches_by_kind"]["spokesperson_change"] == 1
    assert report["accountability_records"] == 1


async def test_the_month_runs_from_the_removal_decision_not_from_its_entry(
    api: Api, clock: ManualClock
) -> None:
    # Art. 9: removed on 31 Dec 2025 but entered on 20 Jan: reported by the end of 31 Jan.
    clock.set(datetime(2026, 1, 20, 2, 0, tzinfo=UTC))
    office = await api.token(EMERGENCY, "approver")
    zhang = await _appoint(api, office, appointment("spokesperson", "张伟", "2025-06-01"))
    obligation = (await _remove(api, office, zhang, "2025-12-31"))["obligation"]
    assert (obligation["status"], obligation["due_at"]) == ("pending", "2026-01-31T16:00:00Z")


async def test_a_successor_already_on_record_answers_the_removal_at_once(
    api: Api, clock: ManualClock
) -> None:
    office = await api.token(LIUPANSHUI_GOV, "approver")
    old = await _appoint(api, office, appointment("spokesperson", "陈刚", "2024-03-01"))
    new = await _appoint(api, office, appointment("spokesperson", "周丽", "2026-11-27"))
    obligation = (await _remove(api, office, old, "2026-11-27", "退休"))["obligation"]
    assert obligation["due_at"] == "2026-12-27T16:00:00Z"
    assert obligation["status"] == "met"
    assert obligation["met_at"] == "2026-11-27T02:00:00Z"
    assert obligation["met_by"] == new["id"]


async def test_a_department_down_to_one_spokesperson_is_adjusted_a_government_is_not(
    api: Api, clock: ManualClock
) -> None:
    # Art. 8: a department keeps one or two, so dropping to one is itself the adjusted entry.
    department = await api.token(EMERGENCY, "approver")
    first = await _appoint(api, department, appointment("spokesperson", "甲", "2024-03-01"))
    await _appoint(api, department, appointment("spokesperson", "乙", "2024-03-01"))
    adjusted = (await _remove(api, department, first, "2026-11-27"))["obligation"]
    assert (adjusted["status"], adjusted["met_at"], adjusted["met_by"]) == (
        "met",
        "2026-11-27T02:00:00Z",
        first["id"],
    )

    # A prefecture government keeps two, like the province: one left is not enough.
    government = await api.token(ZUNYI_GOV, "approver")
    old = await _appoint(api, government, appointment("spokesperson", "丙", "2024-03-01"))
    await _appoint(api, government, appointment("spokesperson", "丁", "2024-03-01"))
    owed = (await _remove(api, government, old, "2026-11-27"))["obligation"]
    assert (owed["status"], owed["due_at"]) == ("pending", "2026-12-27T16:00:00Z")
    # The last press assistant leaving is a change to fill, too.
    helper = await _appoint(api, department, appointment("press_assistant", "戊", "2024-03-01"))
    left = await _remove(api, department, helper, "2026-11-27")
    assert left["obligation"]["status"] == "pending"


async def test_an_organ_has_at_most_two_spokespersons(api: Api) -> None:
    office = await api.token(EMERGENCY, "approver")
    await _appoint(api, office, appointment("spokesperson", "甲", "2026-01-05"))
    await _appoint(api, office, appointment("spokesperson", "乙", "2026-01-05"))
    refused = await api.post(SPOKESPERSONS, office, appointment("spokesperson", "丙", "2026-01-05"))
    assert_problem(refused, 422, "role")
    assert refused.json()["article"] == "Art. 8"
    twice = await api.post(SPOKESPERSONS, office, appointment("spokesperson", "甲", "2026-01-05"))
    assert_problem(twice, 409)


async def test_three_appointments_at_once_still_leave_at_most_two_spokespersons(
    api: Api,
) -> None:
    office = await api.token(EMERGENCY, "approver")
    answers = await asyncio.gather(
        *(
            api.post(SPOKESPERSONS, office, appointment("spokesperson", name, "2026-01-05"))
            for name in ("甲", "乙", "丙")
        )
    )
    assert sorted(r.status_code for r in answers) == [201, 201, 422]
    listed = (await api.get(f"{SPOKESPERSONS}?org={EMERGENCY}&serving=true", office)).json()
    assert len([p for p in listed["items"] if p["role"] == "spokesperson"]) == 2


async def test_dates_are_checked(api: Api) -> None:
    office = await api.token(EMERGENCY, "approver")
    future = await api.post(SPOKESPERSONS, office, appointment("spokesperson", "甲", "2026-11-28"))
    assert_problem(future, 422, "appointed_on")
    bad = await api.post(SPOKESPERSONS, office, appointment("spokesperson", "甲", "2026-02-30"))
    assert_problem(bad, 422, "appointed_on")
    person = await _appoint(api, office, appointment("spokesperson", "甲", "2026-03-01"))
    early = await api.post(
        f"{SPOKESPERSONS}/{person['id']}/remove",
        office,
        {"removed_on": "2026-02-01", "reason": "x"},
    )
    assert_problem(early, 422, "removed_on")
    role = await api.post(SPOKESPERSONS, office, appointment("spokesman", "乙", "2026-03-01"))
    assert_problem(role, 422, "role")


async def test_the_annual_list_names_everyone_who_served_that_year(
    api: Api, clock: ManualClock
) -> None:
    clock.set(datetime(2025, 3, 2, 2, 0, tzinfo=UTC))
    dept = await api.token(EMERGENCY, "approver")
    prefecture = await api.token(LIUPANSHUI_GOV, "approver")
    old = await _appoint(api, dept, appointment("spokesperson", "张伟", "2025-03-01"))
    await _appoint(api, dept, appointment("press_assistant", "李娜", "2025-03-01", phone="0851-1"))
    clock.set(datetime(2026, 1, 31, 3, 0, tzinfo=UTC))
    await api.post(
        f"{SPOKESPERSONS}/{old['id']}/remove", dept, {"removed_on": "2025-12-31", "reason": "调动"}
    )
    await _appoint(api, dept, appointment("spokesperson", "王芳", "2026-01-05"))
    await _appoint(api, prefecture, appointment("spokesperson", "周丽", "2026-01-10"))

    province = await api.token(PROVINCE_IO, "viewer")
    response = await api.get(f"{SPOKESPERSONS}/annual-list?year=2025", province)
    assert response.status_code == 200
    organs = response.json()["organs"]
    assert [o["org"]["id"] for o in organs] == [EMERGENCY]
    assert [p["name"] for p in organs[0]["spokespersons"]] == ["张伟"]
    assert [p["name"] for p in organs[0]["press_assistants"]] == ["李娜"]

    this_year = await api.get(f"{SPOKESPERSONS}/annual-list?year=2026", province)
    names = {
        o["org"]["id"]: [p["name"] for p in o["spokespersons"]] for o in this_year.json()["organs"]
    }
    # 张伟 left on 31 Dec 2025, so he is not on the 2026 list.
    assert names == {EMERGENCY: ["王芳"], LIUPANSHUI_GOV: ["周丽"]}

    as_csv = await api.get(
        f"{SPOKESPERSONS}/annual-list?year=2026", {**province, "Accept": "text/csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = parse_csv(as_csv.text)
    assert [(r["org_id"], r["role"], r["name"], r["appointed_on"]) for r in rows] == [
        (EMERGENCY, "spokesperson", "王芳", "2026-01-05"),
        (EMERGENCY, "press_assistant", "李娜", "2025-03-01"),
        (LIUPANSHUI_GOV, "spokesperson", "周丽", "2026-01-10"),
    ]
    assert rows[1]["phone"] == "0851-1"
    assert rows[0]["org_name_zh"] == "贵州省应急管理厅"

    # A prefecture sees its own entries only.
    zunyi = await api.token(ZUNYI_GOV, "viewer")
    assert (await api.get(f"{SPOKESPERSONS}/annual-list?year=2026", zunyi)).json()["organs"] == []
    liupanshui = await api.token(LIUPANSHUI_GOV, "viewer")
    listed = await api.get(f"{SPOKESPERSONS}/annual-list?year=2026", liupanshui)
    assert [o["org"]["id"] for o in listed.json()["organs"]] == [LIUPANSHUI_GOV]


async def test_spokespersons_are_managed_within_jurisdiction(api: Api) -> None:
    liupanshui = await api.token(LIUPANSHUI_GOV, "approver")
    person = await _appoint(api, liupanshui, appointment("spokesperson", "周丽", "2026-01-10"))
    zunyi = await api.token(ZUNYI_GOV, "approver", "info_office")
    removal = {"removed_on": "2026-02-01", "reason": "x"}
    assert_problem(await api.post(f"{SPOKESPERSONS}/{person['id']}/remove", zunyi, removal), 404)
    assert (await api.get(SPOKESPERSONS, zunyi)).json()["items"] == []
    assert_problem(await api.get(f"{SPOKESPERSONS}?org={LIUPANSHUI_GOV}", zunyi), 404)
    body = appointment("spokesperson", "某人", "2026-01-10", org_id=LIUPANSHUI_GOV)
    assert_problem(await api.post(SPOKESPERSONS, zunyi, body), 422, "org_id")
    # The provincial information office records a prefecture's entry (Art. 9 reports to it).
    io = await api.token(PROVINCE_IO, "info_office")
    recorded = await api.post(SPOKESPERSONS, io, body)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["org_id"] == LIUPANSHUI_GOV
    # A drafter of the organ does not appoint anyone.
    drafter = await api.token(LIUPANSHUI_GOV, "drafter")
    assert_problem(await api.post(SPOKESPERSONS, drafter, body), 403)


def interview(**kw: Any) -> dict[str, Any]:
    body = {
        "reporter_name": "刘记者",
        "outlet": "贵州日报",
        "press_card_number": "B52000012345678",
        "subject": "全省安全生产形势",
    }
    body.update(kw)
    return body


async def test_an_interview_request_is_accepted_or_declined_with_a_reason(
    api: Api, clock: ManualClock
) -> None:
    office = await api.token(EMERGENCY, "drafter")
    chief = await api.token(EMERGENCY, "approver")
    response = await api.post(INTERVIEWS, office, interview())
    assert response.status_code == 201, response.text
    request = response.json()
    assert request["status"] == "pending"
    assert request["org_id"] == EMERGENCY
    assert request["requested_at"] == "2026-11-27T02:00:00Z"

    clock.advance(hours=1)
    too_far = {"interview_at": "2027-11-28T03:00:01Z"}  # 366 days and a second ahead
    assert_problem(
        await api.post(f"{INTERVIEWS}/{request['id']}/accept", chief, too_far), 422, "interview_at"
    )
    accepted = await api.post(
        f"{INTERVIEWS}/{request['id']}/accept", chief, {"interview_at": "2026-11-28T02:00:00Z"}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["decided_at"] == "2026-11-27T03:00:00Z"
    assert accepted.json()["interview_at"] == "2026-11-28T02:00:00Z"
    assert_problem(
        await api.post(f"{INTERVIEWS}/{request['id']}/decline", chief, {"reason": "x"}), 409
    )

    other = (await api.post(INTERVIEWS, office, interview(outlet="某网站"))).json()
    assert_problem(await api.post(f"{INTERVIEWS}/{other['id']}/decline", chief, {}), 422, "reason")
    declined = await api.post(
        f"{INTERVIEWS}/{other['id']}/decline", chief, {"reason": "涉及正在调查的案件"}
    )
    assert declined.json()["status"] == "declined"
    assert declined.json()["reason"] == "涉及正在调查的案件"
    # A drafter records requests but does not decide them.
    third = (await api.post(INTERVIEWS, office, interview())).json()
    assert_problem(await api.post(f"{INTERVIEWS}/{third['id']}/accept", office), 403)

    listed = await api.get(f"{INTERVIEWS}?status=declined", chief)
    assert [i["id"] for i in listed.json()["items"]] == [other["id"]]


async def test_an_interview_needs_a_press_card_and_stays_in_jurisdiction(api: Api) -> None:
    office = await api.token(LIUPANSHUI_GOV, "drafter")
    no_card = await api.post(INTERVIEWS, office, interview(press_card_number=""))
    assert_problem(no_card, 422, "press_card_number")
    odd = await api.post(INTERVIEWS, office, interview(press_card_number="B52 <script>"))
    assert_problem(odd, 422, "press_card_number")
    request = (await api.post(INTERVIEWS, office, interview())).json()
    zunyi = await api.token(ZUNYI_GOV, "approver", "info_office")
    assert_problem(await api.post(f"{INTERVIEWS}/{request['id']}/accept", zunyi), 404)
    assert (await api.get(INTERVIEWS, zunyi)).json()["items"] == []
    assert_problem(await api.get(f"{INTERVIEWS}?org={LIUPANSHUI_GOV}", zunyi), 404)
    province = await api.token(PROVINCE_IO, "viewer")
    listed = await api.get(f"{INTERVIEWS}?org={LIUPANSHUI_GOV}", province)
    assert [i["id"] for i in listed.json()["items"]] == [request["id"]]
    assert (await api.get(f"{INTERVIEWS}?org={EMERGENCY}", province)).json()["items"] == []
