"""The accountability timeline of an incident (Art. 39): who knew what when, who was
responsible, what was owed and when it was done, as JSON, CSV and a printable page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.clock import ManualClock
from app.scheduler.firing import fire_due
from tests.api.helpers import PANZHOU, assert_problem, create
from tests.conftest import Api
from tests.records.helpers import (
    CONFERENCES,
    EMERGENCY,
    INTERVIEWS,
    LIUPANSHUI_GOV,
    ZUNYI_GOV,
    Office,
    conference_body,
    parse_csv,
    prepare,
)


def first_release_facts(deaths: int) -> dict[str, Any]:
    return {
        "time": "2026-11-27T01:00:00Z",
        "place": "盘州市某煤矿",
        "site_conditions": "井下透水，排水作业进行中",
        "casualties": {"deaths": deaths, "injured": 0, "missing": 0, "involved": 4},
        "measures": "省应急管理厅工作组赶赴现场，组织救援。",
    }


async def _scenario(api: Api, clock: ManualClock) -> dict[str, Any]:
    """A larger mine accident that turns major an hour after the report; the first release
    goes out on time, the press conference an hour late."""
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter, figures={"deaths": 4, "trapped": 4})
    assert incident["level"] == "III"
    assert incident["responsible_org"]["id"] == LIUPANSHUI_GOV

    clock.set(datetime(2026, 11, 27, 3, 0, tzinfo=UTC))
    response = await api.post(
        f"/api/v1/incidents/{incident['id']}/reports",
        reporter,
        {"figures": {"deaths": 12}, "note": "新发现遇难者8人"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["level"] == "II"
    assert response.json()["responsible_org"]["id"] == EMERGENCY

    clock.set(datetime(2026, 11, 27, 3, 30, tzinfo=UTC))
    office = Office(api, EMERGENCY)
    release = await office.release(
        "first", incident_id=incident["id"], facts=first_release_facts(12), title="首次发布"
    )
    assert release["status"] == "published"

    drafter = await office.as_("drafter")
    response = await api.post(
        CONFERENCES,
        drafter,
        conference_body(
            EMERGENCY, "2026-11-28T02:00:00Z", incident_id=incident["id"], venue="盘州市"
        ),
    )
    conference = response.json()
    await prepare(api, drafter, conference["id"])

    request = (
        await api.post(
            INTERVIEWS,
            drafter,
            {
                "reporter_name": "刘记者",
                "outlet": "新华社",
                "press_card_number": "A11000012345678",
                "subject": "救援进展",
                "incident_id": incident["id"],
            },
        )
    ).json()
    await api.post(
        f"{INTERVIEWS}/{request['id']}/decline",
        await office.as_("approver"),
        {"reason": "救援关键阶段，次日发布会统一回应"},
    )

    # The scheduler breaches what is overdue: the follow-up at 09:30, the conference at 01:00.
    clock.set(datetime(2026, 11, 28, 1, 0, tzinfo=UTC))
    await fire_due(api.db, clock)
    clock.set(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    held = await api.post(f"{CONFERENCES}/{conference['id']}/hold", drafter)
    assert held.status_code == 200, held.text
    return {"incident": incident, "release": release, "conference": conference}


async def test_the_timeline_shows_when_each_fact_was_known_and_each_clock_kept(
    api: Api, clock: ManualClock
) -> None:
    made = await _scenario(api, clock)
    incident_id = made["incident"]["id"]
    auditor = await api.token("520000", "viewer")
    response = await api.get(f"/api/v1/incidents/{incident_id}/accountability", auditor)
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["incident"]["level"] == "II"
    entries = record["entries"]
    ats = [e["at"] for e in entries]
    assert ats == sorted(ats)

    facts = [(e["at"], e["what"]) for e in entries if e["kind"] == "fact"]
    assert facts == [
        ("2026-11-27T02:00:00Z", "incident reported"),
        ("2026-11-27T03:00:00Z", "situation report"),
    ]
    levels = [(e["at"], e["what"]) for e in entries if e["kind"] == "level"]
    assert levels == [
        ("2026-11-27T02:00:00Z", "classified level III"),
        ("2026-11-27T03:00:00Z", "level III → II"),
    ]
    responsibility = [(e["at"], e["what"]) for e in entries if e["kind"] == "responsibility"]
    assert responsibility == [
        ("2026-11-27T02:00:00Z", f"responsible: {LIUPANSHUI_GOV}"),
        ("2026-11-27T03:00:00Z", f"responsibility {LIUPANSHUI_GOV} → {EMERGENCY}"),
    ]

    obligations = {o["kind"]: o for o in record["obligations"]}
    first = obligations["first_release"]
    # Art. 23: max(occurred + 3 h, known(II) + 1 h) = max(04:00, 04:00).
    assert first["due_at"] == "2026-11-27T04:00:00Z"
    assert first["outcome"] == "met on time"
    assert first["met_at"] == "2026-11-27T03:30:00Z"
    assert first["lateness_seconds"] == 0
    assert first["met_by"] == made["release"]["id"]
    conference = obligations["press_conference"]
    assert conference["due_at"] == "2026-11-28T01:00:00Z"
    assert conference["outcome"] == "met late"
    assert conference["breached_at"] == "2026-11-28T01:00:00Z"
    assert conference["met_at"] == "2026-11-28T02:00:00Z"
    assert conference["lateness_seconds"] == 3600
    assert conference["accountability_record"]["article"] == "Art. 39(1)"
    assert conference["accountability_record"]["escalated_to_org_id"] == "io-520000"
    follow_up = obligations["follow_up"]
    assert follow_up["due_at"] == "2026-11-27T09:30:00Z"
    assert follow_up["outcome"] == "breached, still unmet"
    assert follow_up["lateness_seconds"] == 16 * 3600 + 30 * 60  # at 02:00 on the 28th
    assert follow_up["accountability_record"] is None  # flagged, not an Art. 39 matter

    [release] = record["releases"]
    assert release["kind"] == "first"
    assert release["published_at"] == "2026-11-27T03:30:00Z"
    chain = [(a["step"], a["outcome"], a["org_id"]) for a in release["approval_chain"]]
    assert chain == [
        ("submit", "done", EMERGENCY),
        ("review", "done", EMERGENCY),
        ("approve", "done", EMERGENCY),
        ("publish", "done", EMERGENCY),
    ]
    assert (
        len({a["token_id"] for a in release["approval_chain"]}) == 3
    )  # drafter submits and publishes
    # Each step names the article that asks for it: confidentiality review (Art. 39(6)),
    # approval (Art. 15), the organ's release work flow (Art. 27).
    steps = [(e["what"], e["article"]) for e in entries if e["kind"] == "release_step"]
    assert steps == [
        ("first submit: done", None),
        ("first review: done", "Art. 39(6)"),
        ("first approve: done", "Art. 15"),
        ("first publish: done", "Art. 27"),
    ]

    breaches = [e for e in entries if e["kind"] == "breach"]
    assert [(e["at"], e["article"]) for e in breaches] == [("2026-11-28T01:00:00Z", "Art. 39(1)")]
    interviews = [(e["what"], e["article"]) for e in entries if e["kind"] == "interview"]
    assert interviews == [
        ("interview requested by 刘记者 (新华社)", "Art. 21"),
        ("interview declined", "Art. 39(2)"),
    ]
    conferences = [(e["at"], e["what"], e["article"]) for e in entries if e["kind"] == "conference"]
    assert conferences[-1] == (
        "2026-11-28T02:00:00Z",
        "press conference held: 全省安全生产形势新闻发布会",
        "Art. 23",
    )


async def test_the_timeline_as_csv_and_as_a_printable_page(api: Api, clock: ManualClock) -> None:
    made = await _scenario(api, clock)
    incident_id = made["incident"]["id"]
    auditor = await api.token("520000", "viewer")
    url = f"/api/v1/incidents/{incident_id}/accountability"
    record = (await api.get(url, auditor)).json()

    as_csv = await api.get(url, {**auditor, "Accept": "text/csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = parse_csv(as_csv.text)
    assert list(rows[0]) == [
        "at",
        "kind",
        "what",
        "org_id",
        "ref_id",
        "article",
        "due_at",
        "met_at",
        "breached_at",
        "lateness_seconds",
        "detail",
    ]
    assert len(rows) == len(record["entries"])
    late = next(r for r in rows if r["what"] == "press_conference: met late")
    assert late["due_at"] == "2026-11-28T01:00:00Z"
    assert late["breached_at"] == "2026-11-28T01:00:00Z"
    assert late["lateness_seconds"] == "3600"
    assert late["article"] == "Art. 23"

    page = await api.get(url, {**auditor, "Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Accountability timeline (Art. 39)" in page.text
    assert "盘州市某煤矿透水事故" in page.text
    assert "press_conference: met late" in page.text
    assert "@media print" in page.text
    same = await api.get(f"{url}?format=html", auditor)
    assert same.text == page.text


async def test_the_timeline_is_not_shown_outside_jurisdiction(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter)
    zunyi = await api.token(ZUNYI_GOV, "viewer")
    url = f"/api/v1/incidents/{incident['id']}/accountability"
    assert_problem(await api.get(url, zunyi), 404)
    assert_problem(await api.get(url, {**zunyi, "Accept": "text/csv"}), 404)
    assert_problem(await api.get("/api/v1/incidents/inc_nonexistent/accountability", zunyi), 404)
