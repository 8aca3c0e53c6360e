"""A year of the provincial emergency management department's release work, made through
the API with the scheduler's firing run as the clock moves; the Art. 38 annual report
counts exactly what the year made, and nothing from the years around it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.clock import ManualClock
from app.scheduler.firing import fire_due
from app.workflows import obligations as obligations_wf
from tests.api.helpers import PANZHOU, assert_problem, create
from tests.conftest import Api
from tests.records.helpers import (
    CONFERENCES,
    EMERGENCY,
    INTERVIEWS,
    LIUPANSHUI_GOV,
    REPORTS,
    WARNINGS,
    ZUNYI_GOV,
    Office,
    conference_body,
    parse_csv,
    prepare,
)


class Year:
    """The department's year, told in the order it happens."""

    def __init__(self, api: Api, clock: ManualClock) -> None:
        self.api = api
        self.clock = clock
        self.office = Office(api, EMERGENCY)

    async def at(self, *args: int) -> None:
        """Move the clock (UTC) and let the scheduler fire what fell due meanwhile."""
        self.clock.set(datetime(*args, tzinfo=UTC))  # type: ignore[misc]
        await fire_due(self.api.db, self.clock)

    async def new_quarter(self) -> None:
        async with self.api.db.write() as session:
            await obligations_wf.open_routine_conferences(session, self.clock.now())

    async def incident(self, deaths: int, occurred: str) -> dict[str, Any]:
        reporter = await self.api.token(PANZHOU, "reporter")
        incident = await create(
            self.api, reporter, occurred_at=occurred, figures={"deaths": deaths, "trapped": 4}
        )
        assert incident["responsible_org"]["id"] == EMERGENCY
        return incident

    async def release(self, kind: str, incident: dict[str, Any] | None = None, **kw: Any) -> None:
        await self.office.release(kind, incident_id=incident["id"] if incident else None, **kw)

    async def first_release(self, incident: dict[str, Any], deaths: int) -> None:
        facts = {
            "time": incident["occurred_at"],
            "place": "盘州市某煤矿",
            "site_conditions": "井下透水",
            "casualties": {"deaths": deaths, "injured": 0, "missing": 0, "involved": 4},
            "measures": "组织救援",
        }
        await self.release("first", incident, facts=facts)

    async def summary(self, incident: dict[str, Any]) -> None:
        facts = {"causes": "违规开采", "losses": "遇难12人", "relief": "善后工作有序开展"}
        await self.release("summary", incident, facts=facts)

    async def close(self, incident: dict[str, Any]) -> None:
        closer = await self.office.as_("approver")
        response = await self.api.post(
            f"/api/v1/incidents/{incident['id']}/close", closer, {"reason": "救援结束"}
        )
        assert response.status_code == 200, response.text

    async def schedule(self, at: str, **kw: Any) -> str:
        drafter = await self.office.as_("drafter")
        response = await self.api.post(CONFERENCES, drafter, conference_body(EMERGENCY, at, **kw))
        assert response.status_code == 201, response.text
        conference_id: str = response.json()["id"]
        await prepare(self.api, drafter, conference_id)
        return conference_id

    async def conference_act(self, conference_id: str, action: str) -> None:
        drafter = await self.office.as_("drafter")
        response = await self.api.post(f"{CONFERENCES}/{conference_id}/{action}", drafter)
        assert response.status_code == 200, response.text

    async def interview(self, incident: dict[str, Any] | None = None) -> str:
        body = {
            "reporter_name": "刘记者",
            "outlet": "贵州日报",
            "press_card_number": "B52000012345678",
            "subject": "安全生产",
        }
        if incident:
            body["incident_id"] = incident["id"]
        response = await self.api.post(INTERVIEWS, await self.office.as_("drafter"), body)
        assert response.status_code == 201, response.text
        request_id: str = response.json()["id"]
        return request_id

    async def decide(self, request_id: str, accept: bool) -> None:
        approver = await self.office.as_("approver")
        if accept:
            response = await self.api.post(f"{INTERVIEWS}/{request_id}/accept", approver)
        else:
            response = await self.api.post(
                f"{INTERVIEWS}/{request_id}/decline", approver, {"reason": "调查尚未结束"}
            )
        assert response.status_code == 200, response.text

    async def warning_message(self, url: str, body: dict[str, Any]) -> None:
        response = await self.api.post(url, await self.office.as_("drafter"), body)
        assert response.status_code == 201, response.text
        warning = response.json()
        await self.office.walk(warning["release"]["id"], publish=False)
        published = await self.api.post(
            f"{WARNINGS}/{warning['id']}/publish", await self.office.as_("drafter")
        )
        assert published.status_code == 200, published.text
        self.last_warning = warning["id"]


async def test_the_annual_report_counts_what_the_year_made(api: Api, clock: ManualClock) -> None:
    year = Year(api, clock)

    # 23:59:59 on 31 Dec 2025, Beijing time: last year's.
    await year.at(2025, 12, 31, 15, 59, 59)
    await year.release("hotspot_response")

    # Q1 ------------------------------------------------------------------------------------
    await year.at(2026, 1, 5, 1, 0)
    await year.new_quarter()
    await year.at(2026, 1, 12, 2, 0)
    a = await year.incident(12, "2026-01-12T01:00:00Z")
    await year.at(2026, 1, 12, 3, 0)
    await year.first_release(a, 12)  # due 04:00, on time
    request = await year.interview(a)
    await year.decide(request, accept=True)
    await year.at(2026, 1, 12, 5, 0)
    emergency_a = await year.schedule("2026-01-12T06:00:00Z", incident_id=a["id"])
    await year.at(2026, 1, 12, 6, 0)
    await year.conference_act(emergency_a, "hold")
    await year.at(2026, 1, 12, 7, 0)
    await year.release("follow_up", a)  # due 09:00 (6 h after the first release)
    await year.at(2026, 1, 12, 8, 0)
    await year.close(a)  # the open follow-up is cancelled; the summary is owed
    await year.at(2026, 1, 14, 2, 0)
    await year.summary(a)
    await year.at(2026, 2, 10, 2, 0)
    await year.release("regular_info")
    await year.release("hotspot_response")
    await year.at(2026, 3, 2, 2, 0)
    march = await year.schedule("2026-03-20T02:00:00Z")
    await year.at(2026, 3, 10, 2, 0)
    await year.conference_act(march, "file")  # due the end of 13 Mar
    await year.at(2026, 3, 20, 2, 0)
    await year.conference_act(march, "hold")

    # Q2: a first release an hour late, a filing a day late ----------------------------------
    await year.at(2026, 4, 1, 1, 0)
    await year.new_quarter()
    await year.at(2026, 4, 15, 2, 0)
    b = await year.incident(15, "2026-04-15T01:00:00Z")
    await year.at(2026, 4, 15, 5, 0)  # the scheduler breached first_release at 04:00
    await year.first_release(b, 15)
    await year.at(2026, 4, 15, 7, 0)
    emergency_b = await year.schedule("2026-04-15T08:00:00Z", incident_id=b["id"])
    await year.at(2026, 4, 15, 8, 0)
    await year.conference_act(emergency_b, "hold")
    await year.at(2026, 4, 15, 9, 0)
    await year.close(b)
    await year.at(2026, 4, 17, 2, 0)
    await year.summary(b)
    await year.at(2026, 5, 12, 2, 0)
    declined = await year.interview()
    accepted = await year.interview()
    await year.decide(declined, accept=False)
    await year.decide(accepted, accept=True)
    await year.release("rumor_clarification")
    await year.at(2026, 6, 1, 2, 0)
    june = await year.schedule("2026-06-10T02:00:00Z")  # filed by the end of Wed 3 Jun
    await year.at(2026, 6, 4, 2, 0)
    await year.conference_act(june, "file")
    await year.at(2026, 6, 10, 2, 0)
    await year.conference_act(june, "hold")

    # Q3: an early warning and its update; a conference filed but never held ------------------
    await year.at(2026, 7, 1, 1, 0)
    await year.new_quarter()
    await year.at(2026, 8, 5, 2, 0)
    await year.warning_message(
        WARNINGS,
        {
            "colour": "yellow",
            "event": "森林火险",
            "areas": ["520281"],
            "onset": "2026-08-05T04:00:00Z",
            "expires": "2026-08-10T04:00:00Z",
            "description": "气温高、湿度低，森林火险等级高。",
            "instruction": "严禁野外用火。",
            "category": "Fire",
        },
    )
    await year.at(2026, 8, 6, 2, 0)
    await year.warning_message(
        f"{WARNINGS}/{year.last_warning}/update", {"colour": "orange", "reason": "火险升高"}
    )
    await year.at(2026, 9, 8, 2, 0)
    september = await year.schedule("2026-09-25T02:00:00Z")
    not_held = await year.schedule("2026-09-28T02:00:00Z")
    await year.at(2026, 9, 10, 2, 0)
    await year.conference_act(september, "file")
    await year.conference_act(not_held, "file")
    await year.at(2026, 9, 25, 2, 0)
    await year.conference_act(september, "hold")

    # Another organ's work is not the department's.
    liupanshui = Office(api, LIUPANSHUI_GOV)
    reporter = await api.token(PANZHOU, "reporter")
    other = await create(
        api, reporter, occurred_at="2026-09-25T01:00:00Z", figures={"deaths": 4, "trapped": 4}
    )
    assert other["responsible_org"]["id"] == LIUPANSHUI_GOV
    await liupanshui.release("follow_up", incident_id=other["id"])

    # Q4: the year ends at midnight Beijing time ----------------------------------------------
    await year.at(2026, 10, 9, 1, 0)
    await year.new_quarter()
    await year.at(2026, 11, 3, 2, 0)
    november = await year.interview()
    await year.at(2026, 11, 4, 2, 0)
    await year.decide(november, accept=True)
    await year.at(2026, 12, 21, 2, 0)
    last = await year.schedule("2026-12-31T15:30:00Z")
    await year.conference_act(last, "file")
    await year.at(2026, 12, 31, 15, 0)
    late_request = await year.interview()
    await year.at(2026, 12, 31, 15, 30)  # 23:30 Beijing time: still 2026
    await year.conference_act(last, "hold")
    await year.at(2026, 12, 31, 16, 10)  # 00:10 on 1 Jan 2027 Beijing time
    await year.decide(late_request, accept=True)
    await year.at(2026, 12, 31, 16, 30)
    await year.release("regular_info")

    auditor = await api.token("520000", "viewer", "info_office")
    response = await api.get(f"{REPORTS}?year=2026&org={EMERGENCY}", auditor)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["org"]["id"] == EMERGENCY
    assert report["period"] == {"from": "2025-12-31T16:00:00Z", "to": "2026-12-31T16:00:00Z"}
    assert report["press_conferences_held"] == 6
    assert report["press_conferences_on_incidents"] == 2
    assert report["releases_total"] == 10
    assert {k: v for k, v in report["releases_by_kind"].items() if v} == {
        "first": 2,
        "follow_up": 1,
        "summary": 2,
        "regular_info": 1,
        "hotspot_response": 1,
        "rumor_clarification": 1,
        "early_warning": 2,
    }
    assert report["emergency_releases"] == 5
    assert report["hotspot_responses"] == 1
    assert report["early_warnings"] == 1
    assert report["early_warning_messages"] == 2
    assert report["interviews"] == {"requested": 5, "accepted": 3, "declined": 1}
    assert report["breaches"] == 2
    assert {k: v for k, v in report["breaches_by_kind"].items() if v} == {
        "first_release": 1,
        "conference_filing": 1,
    }
    assert report["accountability_records"] == 2

    as_csv = await api.get(
        f"{REPORTS}?year=2026&org={EMERGENCY}", {**auditor, "Accept": "text/csv"}
    )
    rows = {r["metric"]: r for r in parse_csv(as_csv.text)}
    assert rows["press_conferences_held"]["value"] == "6"
    assert rows["press_conferences_held"]["label"].startswith("举办新闻发布会")
    assert rows["releases_by_kind.early_warning"]["value"] == "2"
    assert rows["interviews.accepted"]["value"] == "3"
    assert rows["breaches"]["value"] == "2"
    assert {r["org_id"] for r in rows.values()} == {EMERGENCY}
    assert {r["year"] for r in rows.values()} == {"2026"}

    # The years around it hold what fell into them.
    before = (await api.get(f"{REPORTS}?year=2025&org={EMERGENCY}", auditor)).json()
    assert before["releases_total"] == 1
    assert before["hotspot_responses"] == 1
    after = (await api.get(f"{REPORTS}?year=2027&org={EMERGENCY}", auditor)).json()
    assert after["releases_by_kind"]["regular_info"] == 1
    assert after["interviews"] == {"requested": 0, "accepted": 1, "declined": 0}
    assert after["press_conferences_held"] == 0

    # The prefecture's own report has its release; its organ defaults to the caller's.
    prefecture = await api.token(LIUPANSHUI_GOV, "viewer")
    own = (await api.get(f"{REPORTS}?year=2026", prefecture)).json()
    assert own["org"]["id"] == LIUPANSHUI_GOV
    assert own["releases_total"] == 1
    assert own["emergency_releases"] == 1
    # Outside one's jurisdiction the report is not found.
    zunyi = await api.token(ZUNYI_GOV, "viewer")
    assert_problem(await api.get(f"{REPORTS}?year=2026&org={LIUPANSHUI_GOV}", zunyi), 404)
    assert_problem(await api.get(f"{REPORTS}?year=2026&org={EMERGENCY}", zunyi), 404)
    assert_problem(await api.get(f"{REPORTS}?year=1999", zunyi), 422, "year")
