"""A level II mine accident from intake to a published first release, on time and late.

The provincial emergency management department is responsible (Art. 22: no on-site
command, not escalated); its press office drafts, its confidentiality reviewer and its
approver act, and the publication meets the Art. 23 first-release clock.
"""

from __future__ import annotations

from datetime import timedelta

from app.scheduler.firing import fire_due
from tests.conftest import T0, Api
from tests.releases.helpers import (
    EMERGENCY,
    INCIDENTS,
    RELEASES,
    PressOffice,
    incident_now,
    obligation,
    report_mine_accident,
    z,
)

# Occurred T0 - 1 h, reported at T0: due 3 h after the event (the report is not late).
FIRST_RELEASE_DUE = T0 + timedelta(hours=2)


async def test_a_mine_accident_walked_to_its_first_release_meets_the_clock_before_due(
    api: Api,
) -> None:
    incident = await report_mine_accident(api)
    assert incident["level"] == "II"
    assert incident["responsible_org"]["id"] == EMERGENCY
    assert obligation(incident, "first_release")["due_at"] == z(FIRST_RELEASE_DUE)
    office = await PressOffice.of(api, EMERGENCY)

    api.clock.advance(minutes=20)
    draft = await office.drafted(incident["id"])
    assert draft["status"] == "draft"
    assert [s["step"] for s in draft["flow"]] == [
        "submit",
        "review",
        "approve",
        "cosign",
        "publish",
    ]

    api.clock.advance(minutes=5)
    submitted = await office.ok(draft["id"], "submit")
    assert submitted["status"] == "in_review"
    assert submitted["current_step"]["article"] == "Art. 39(6)"
    api.clock.advance(minutes=10)
    reviewed = await office.ok(draft["id"], "review")
    assert reviewed["status"] == "in_approval"
    api.clock.advance(minutes=10)
    approved = await office.ok(draft["id"], "approve")
    # Nobody else is concerned at level II: co-signing passes by itself (Art. 15).
    assert approved["status"] == "ready"
    assert [s["state"] for s in approved["flow"]] == [
        "done",
        "done",
        "done",
        "skipped",
        "current",
    ]

    api.clock.advance(minutes=5)
    published_at = T0 + timedelta(minutes=50)
    published = await office.ok(draft["id"], "publish")
    assert published["status"] == "published"
    assert published["published_at"] == z(published_at)
    assert published["url"] == f"http://127.0.0.1:8000/releases/{draft['id']}"

    after = await incident_now(api, incident["id"])
    first = obligation(after, "first_release")
    assert first["status"] == "met"
    assert first["met_at"] == z(published_at)
    assert first["met_by"] == draft["id"]
    assert first["breached_at"] is None
    assert first["due_at"] == z(FIRST_RELEASE_DUE)
    # Art. 23: the publication opens the next follow-up, 6 h after it.
    follow_up = obligation(after, "follow_up")
    assert follow_up["status"] == "pending"
    assert follow_up["due_at"] == z(published_at + timedelta(hours=6))

    response = await api.get(f"{INCIDENTS}/{incident['id']}/timeline", office.approver)
    entries = response.json()["entries"]
    release_events = [
        e["type"] for e in entries if e["kind"] == "event" and e["type"].startswith("release.")
    ]
    assert release_events == [
        "release.drafted",
        "release.submitted",
        "release.reviewed",
        "release.approved",
        "release.published",
    ]
    audits = [e for e in entries if e["kind"] == "audit" and e["action"].startswith("release.")]
    assert [a["action"] for a in audits] == release_events
    assert all(a["org_id"] == EMERGENCY for a in audits)
    assert len({a["token_id"] for a in audits}) == 3  # drafter, reviewer, approver

    event = next(e for e in entries if e.get("type") == "release.published")
    data = event["data"]
    assert data["id"] == draft["id"]
    assert data["kind"] == "first"
    assert data["title"] == "盘州市某煤矿发生透水事故"
    assert data["body"].startswith("11月27日9时许")
    assert data["channels"] == ["website", "weibo", "wechat"]
    assert data["facts"]["casualties"] == {"deaths": 8, "injured": 5, "missing": 3, "involved": 20}
    assert data["org_name_zh"] == "贵州省应急管理厅"
    assert data["org_name_en"] == "Guizhou Department of Emergency Management"
    assert data["incident_id"] == incident["id"]
    assert data["published_at"] == z(published_at)
    assert data["url"] == published["url"]
    met = [e for e in entries if e.get("type") == "obligation.met"]
    assert [e["data"]["kind"] for e in met] == ["first_release"]


async def test_the_same_accident_published_late_is_met_late_with_the_breach_on_record(
    api: Api,
) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"])
    await office.through_approval(draft["id"])

    # The approver sat on it: the due time passes and the scheduler fires the breach.
    api.clock.set(FIRST_RELEASE_DUE)
    await fire_due(api.db, api.clock)
    breached = obligation(await incident_now(api, incident["id"]), "first_release")
    assert breached["status"] == "breached"
    assert breached["breached_at"] == z(FIRST_RELEASE_DUE)

    late = FIRST_RELEASE_DUE + timedelta(minutes=47, seconds=13)
    api.clock.set(late)
    published = await office.ok(draft["id"], "publish")
    assert published["published_at"] == z(late)

    first = obligation(await incident_now(api, incident["id"]), "first_release")
    assert first["status"] == "met"
    assert first["met_at"] == z(late)
    assert first["met_by"] == draft["id"]
    # Meeting it late keeps the breach on the record (RULES §3, Art. 39(1)).
    assert first["breached_at"] == z(FIRST_RELEASE_DUE)
    response = await api.get(f"{INCIDENTS}/{incident['id']}/timeline", office.approver)
    met = [e for e in response.json()["entries"] if e.get("type") == "obligation.met"]
    assert met[0]["data"]["late"] is True
    assert met[0]["data"]["late_seconds"] == 47 * 60 + 13


async def test_the_press_office_finds_its_releases_by_incident_status_and_kind(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    first = await office.published(incident["id"])
    api.clock.advance(minutes=1)
    rumor = await office.drafted(
        incident["id"], kind="rumor_clarification", title="关于网传“死亡30人”的辟谣"
    )

    async def ids(query: str) -> list[str]:
        response = await api.get(f"{RELEASES}?{query}", office.reviewer)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await ids(f"incident={incident['id']}") == [rumor["id"], first["id"]]
    assert await ids("status=published") == [first["id"]]
    assert await ids("kind=rumor_clarification&status=draft") == [rumor["id"]]
    assert await ids("limit=1") == [rumor["id"]]
