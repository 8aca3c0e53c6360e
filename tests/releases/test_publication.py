"""Publications: versioned, never edited; corrections and retractions replace them; each
publication meets the obligations it answers (RULES §3, §4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.models import Event, Obligation
from app.workflows import obligations as obligations_wf
from tests.conftest import T0, Api
from tests.releases.helpers import (
    EMERGENCY,
    INCIDENTS,
    PANZHOU,
    RELEASES,
    PressOffice,
    assert_problem,
    corrected_publication,
    incident_now,
    obligation,
    release_body,
    report_mine_accident,
    z,
)


async def _events(api: Api, type_: str) -> list[Event]:
    async with api.db.read() as session:
        rows = await session.execute(select(Event).where(Event.type == type_).order_by(Event.seq))
        return list(rows.scalars())


async def test_a_correction_is_a_new_publication_pointing_to_the_one_it_corrects(
    api: Api,
) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)

    first, correction = await corrected_publication(api, office, incident["id"])

    assert correction["replaces_id"] == first["id"]
    assert correction["incident_id"] == incident["id"]
    original = (await api.get(f"{RELEASES}/{first['id']}", office.drafter)).json()
    # The original is untouched, and says what replaced it.
    assert original["title"] == first["title"]
    assert original["body"] == first["body"]
    assert original["status"] == "published"
    assert original["published_at"] == first["published_at"]
    assert original["replaced_by"] == [
        {"id": correction["id"], "kind": "correction", "published_at": correction["published_at"]}
    ]
    assert original["retracted"] is False
    published = await _events(api, "release.published")
    assert published[-1].data["replaces_id"] == first["id"]


async def test_retracting_a_publication_drafts_a_retraction_that_passes_the_flow(
    api: Api,
) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    rumor = await office.published(incident["id"], kind="rumor_clarification")
    api.clock.advance(minutes=10)

    retraction = await office.retraction(rumor["id"], "所辟谣言经核实部分属实")

    assert retraction["kind"] == "retraction"
    assert retraction["status"] == "draft"
    assert retraction["replaces_id"] == rumor["id"]
    assert retraction["body"] == "所辟谣言经核实部分属实"
    # Nothing is retracted until the retraction itself is approved and published.
    assert (await api.get(f"{RELEASES}/{rumor['id']}", office.drafter)).json()["retracted"] is False
    await office.through_publication(retraction["id"])

    original = (await api.get(f"{RELEASES}/{rumor['id']}", office.drafter)).json()
    assert original["retracted"] is True
    assert original["status"] == "published"
    assert original["body"] == rumor["body"]
    [retracted] = await _events(api, "release.retracted")
    assert retracted.data["id"] == rumor["id"]
    assert retracted.data["retracted_by"] == retraction["id"]
    # Once is enough.
    again = await office.act(rumor["id"], "retract", office.drafter, json={"reason": "再次"})
    assert_problem(again, 409)


async def test_a_release_not_yet_published_is_withdrawn_not_retracted(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"])
    await office.ok(draft["id"], "submit")

    withdrawn = await office.ok(
        draft["id"], "retract", headers=office.approver, json={"reason": "重复"}
    )

    assert withdrawn["status"] == "withdrawn"
    assert_problem(await office.act(draft["id"], "review"), 409)
    assert [e.data["reason"] for e in await _events(api, "release.withdrawn")] == ["重复"]


async def test_a_correction_needs_a_publication_to_replace(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"])
    response = await office.draft(incident["id"], kind="correction", replaces_id=draft["id"])
    assert assert_problem(response, 409)["type"].endswith("/not-published")


async def test_a_rumor_clarification_answers_a_major_public_opinion(api: Api) -> None:
    # Art. 25: a social-security incident whose public opinion turned major.
    reporter = await api.token(PANZHOU, "reporter")
    response = await api.post(
        INCIDENTS,
        reporter,
        json={
            "category": "social_security",
            "title": "盘州市某地群体性聚集",
            "occurred_at": z(T0 - timedelta(minutes=30)),
            "division_codes": [PANZHOU],
            "public_opinion": "major",
            "figures": {},
        },
    )
    assert response.status_code == 201, response.text
    incident = response.json()
    due = obligation(incident, "opinion_response")["due_at"]
    assert due == z(T0 + timedelta(hours=1))
    office = await PressOffice.of(api, incident["responsible_org"]["id"])
    api.clock.advance(minutes=40)

    release = await office.published(incident["id"], kind="rumor_clarification", facts=None)

    answered = obligation(await incident_now(api, incident["id"]), "opinion_response")
    assert answered["status"] == "met"
    assert answered["met_by"] == release["id"]
    assert answered["met_at"] == z(T0 + timedelta(minutes=40))


async def test_the_summary_of_a_closed_major_accident_meets_art_24(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    await office.published(incident["id"])
    closer = await api.token(PANZHOU, "reporter")
    api.clock.advance(days=3)
    response = await api.post(
        f"{INCIDENTS}/{incident['id']}/close", closer, json={"reason": "救援结束"}
    )
    assert response.status_code == 200, response.text
    assert obligation(response.json(), "disaster_summary")["status"] == "pending"

    # Causes, losses and relief, each one (Art. 24).
    body = assert_problem(
        await office.draft(incident["id"], kind="summary", facts={"causes": "违规越界开采"}),
        422,
        article="Art. 24",
    )
    assert [e["field"] for e in body["errors"]] == ["facts.losses", "facts.relief"]
    summary = await office.published(
        incident["id"],
        kind="summary",
        facts={
            "causes": "违规越界开采导致透水",
            "losses": "8人死亡、3人失踪，直接经济损失约4200万元",
            "relief": "遇难者家属已妥善安置",
            "casualties": {"deaths": 8, "injured": 5, "missing": 3, "involved": 20},
        },
    )
    met = obligation(await incident_now(api, incident["id"]), "disaster_summary")
    assert met["status"] == "met"
    assert met["met_by"] == summary["id"]


async def test_regular_information_standing_alone_meets_its_art_20_clock(api: Api) -> None:
    office = await PressOffice.of(api, EMERGENCY)
    async with api.db.write() as session:
        owed = await obligations_wf.open_regular_info(
            session, EMERGENCY, T0, subject_id="annual-safety-plan", at=T0
        )
    api.clock.advance(days=1)

    release = await office.published(
        None, kind="regular_info", subject_id="annual-safety-plan", title="2027年安全生产计划"
    )

    assert release["incident_id"] is None
    async with api.db.read() as session:
        row = await session.get(Obligation, owed.id)
        assert row is not None
        assert row.status == "met"
        assert row.met_by == release["id"]


async def _reviewed_regular_info(office: PressOffice, **body: Any) -> dict[str, Any]:
    """An item of regular information standing alone, through production and review."""
    release = await office.drafted(None, kind="regular_info", title="2027年安全生产计划", **body)
    await office.ok(release["id"], "submit")
    return await office.ok(release["id"], "review")


async def _regular_info_clocks(office: PressOffice) -> list[dict[str, Any]]:
    """The organ's Art. 20 regular-information clocks, as its approver lists them."""
    response = await office.api.get(
        f"/api/v1/obligations?kind=regular_info&org={office.org}", office.approver
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_regular_information_passing_review_owes_its_publication_in_5_working_days(
    api: Api,
) -> None:
    # RULES §3 (Art. 20): the clock starts when production and review are done. Reviewed on
    # Friday 27 Nov 2026 (Beijing), it is owed by the end of Friday 4 Dec.
    office = await PressOffice.of(api, EMERGENCY)
    release = await _reviewed_regular_info(office)
    [obligation] = await _regular_info_clocks(office)
    assert (obligation["status"], obligation["due_at"]) == ("pending", "2026-12-04T16:00:00Z")

    api.clock.advance(days=2)
    await office.ok(release["id"], "approve")
    published = await office.ok(release["id"], "publish")
    met = await api.get(f"/api/v1/obligations/{obligation['id']}", office.approver)
    assert (met.json()["status"], met.json()["met_by"]) == ("met", published["id"])


async def test_an_item_registered_before_its_release_keeps_the_review_time_given_then(
    api: Api,
) -> None:
    # Registered as reviewed on Fri 27 Nov: due the end of Fri 4 Dec. Were the release's own
    # review on Mon 30 Nov taken instead, it would be due the end of Mon 7 Dec.
    office = await PressOffice.of(api, EMERGENCY)
    async with api.db.write() as session:
        await obligations_wf.open_regular_info(
            session, EMERGENCY, T0, subject_id="annual-safety-plan", at=T0
        )
    api.clock.advance(days=3)

    release = await _reviewed_regular_info(office, subject_id="annual-safety-plan")

    assert release["subject_id"] == "annual-safety-plan"
    [clock] = await _regular_info_clocks(office)
    assert (clock["status"], clock["due_at"]) == ("pending", "2026-12-04T16:00:00Z")


async def test_regular_information_is_owed_once_the_last_review_of_its_flow_has_passed(
    api: Api,
) -> None:
    admin = await api.token("520000", "admin")
    steps = [
        {"step": "submit", "role": "drafter"},
        {"step": "review", "role": "reviewer", "co_signers": True},
        {"step": "approve", "role": "approver"},
        {"step": "cosign", "role": "approver", "co_signers": True},
        {"step": "publish", "role": "drafter"},
    ]
    response = await api.client.put(
        f"/api/v1/orgs/{EMERGENCY}/release-flow", headers=admin, json={"steps": steps}
    )
    assert response.status_code == 200, response.text
    office = await PressOffice.of(api, EMERGENCY)
    other = await PressOffice.of(api, "dept-natural_resources")

    # Its own review on Fri 27 Nov: the co-signer's review is still to come, nothing owed yet.
    release = await _reviewed_regular_info(office, co_signers=[other.org])
    assert release["current_step"]["waiting_for"] == [other.org]
    assert await _regular_info_clocks(office) == []

    # The co-signer reviews on Mon 30 Nov: 5 working days from Tue 1 Dec end on Mon 7 Dec.
    api.clock.advance(days=3)
    await other.ok(release["id"], "review")
    [clock] = await _regular_info_clocks(office)
    assert (clock["status"], clock["due_at"]) == ("pending", "2026-12-07T16:00:00Z")
    assert clock["subject"]["id"] == release["id"]


async def test_a_reviewed_regular_information_draft_withdrawn_owes_nothing_more(
    api: Api,
) -> None:
    office = await PressOffice.of(api, EMERGENCY)
    abandoned = await _reviewed_regular_info(office)
    withdrawn = await office.act(
        abandoned["id"], "retract", office.drafter, json={"reason": "改为重新起草"}
    )
    assert withdrawn.status_code == 200, withdrawn.text

    [clock] = await _regular_info_clocks(office)
    assert clock["status"] == "cancelled"
    assert clock["subject"]["id"] == abandoned["id"]
    # The redraft owes its own publication, and meets it.
    redraft = await office.published(None, kind="regular_info", title="2027年安全生产计划（修订）")
    listed = await _regular_info_clocks(office)
    assert sorted((o["subject"]["id"], o["status"]) for o in listed) == sorted(
        [(abandoned["id"], "cancelled"), (redraft["id"], "met")]
    )


async def test_the_same_draft_posted_twice_with_one_key_is_stored_once(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    url = f"{INCIDENTS}/{incident['id']}/releases"
    headers = {**office.drafter, "Idempotency-Key": "draft-1"}
    first = await api.post(url, headers, json=release_body())
    again = await api.post(url, headers, json=release_body())
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = await api.post(url, headers, json=release_body(title="另一个"))
    assert_problem(other, 409)
