"""Every refusal of the release work flow names its article, and leaves nothing behind.

Art. 23 (elements of a first release), Art. 16 (consistent figures), Art. 5(6)/22 (only the
responsible organ), Art. 15 (no one approves their own draft; co-signers confirm),
Art. 39(6) (confidentiality review before approval).
"""

from __future__ import annotations

from typing import Any

from tests.api.helpers import stored_counts
from tests.conftest import Api
from tests.releases.helpers import (
    EMERGENCY,
    HONGHUAGANG,
    INCIDENTS,
    PANZHOU,
    RELEASES,
    PressOffice,
    assert_problem,
    first_facts,
    release_body,
    report_figures,
    report_mine_accident,
)

LIUPANSHUI_GOV = "gov-520200"
ZUNYI_GOV = "gov-520300"


# -- Art. 23: the elements of a first release ---------------------------------------------------


async def test_a_first_release_missing_elements_is_refused_listing_each_one(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    facts = first_facts()
    del facts["site_conditions"]
    facts["measures"] = "   "
    facts["casualties"] = {"deaths": 8, "injured": 5}
    before = await stored_counts(api.db)

    response = await office.draft(incident["id"], facts=facts)

    body = assert_problem(response, 422, article="Art. 23")
    assert [e["field"] for e in body["errors"]] == [
        "facts.site_conditions",
        "facts.casualties.missing",
        "facts.casualties.involved",
        "facts.measures",
    ]
    assert await stored_counts(api.db) == before


async def test_a_first_release_without_any_facts_lists_all_eight_elements(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    response = await office.draft(incident["id"], facts=None)
    body = assert_problem(response, 422, article="Art. 23")
    assert [e["field"] for e in body["errors"]] == [
        "facts.time",
        "facts.place",
        "facts.site_conditions",
        "facts.casualties.deaths",
        "facts.casualties.injured",
        "facts.casualties.missing",
        "facts.casualties.involved",
        "facts.measures",
    ]


async def test_zero_casualties_is_an_answer_not_a_missing_element(api: Api) -> None:
    incident = await report_mine_accident(api, figures={"deaths": 0, "missing": 0})
    office = await PressOffice.of(api, incident["responsible_org"]["id"])
    facts = first_facts(deaths=0, injured=0, missing=0, involved=0)
    response = await office.draft(incident["id"], facts=facts)
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["facts"]["casualties"] == {"deaths": 0, "injured": 0, "missing": 0, "involved": 0}
    assert draft["differences"] == []


async def test_a_first_release_is_about_an_incident(api: Api) -> None:
    office = await PressOffice.of(api, EMERGENCY)
    response = await office.draft(None)
    assert_problem(response, 422, field="kind")


# -- Art. 16: figures agree with the record, or are explained --------------------------------


async def test_figures_contradicting_the_latest_situation_report_show_both_sides(
    api: Api,
) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    before = await stored_counts(api.db)

    response = await office.draft(incident["id"], facts=first_facts(deaths=7, involved=6))

    body = assert_problem(response, 409, article="Art. 16")
    assert body["differences"] == [
        {
            "field": "facts.casualties.deaths",
            "release": 7,
            "source": "situation_report",
            "source_field": "deaths",
            "recorded": 8,
            "relation": "equal",
            "source_id": None,
        },
        {
            "field": "facts.casualties.involved",
            "release": 6,
            "source": "situation_report",
            "source_field": "trapped",
            "recorded": 8,
            "relation": "at_least",
            "source_id": None,
        },
    ]
    assert await stored_counts(api.db) == before

    explained = await office.drafted(
        incident["id"],
        facts=first_facts(deaths=7),
        explanation="1名遇难者身份待核实，暂按7人发布",
    )
    assert [d["field"] for d in explained["differences"]] == ["facts.casualties.deaths"]


async def test_a_published_figure_that_goes_down_must_be_explained(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    first = await office.published(incident["id"])
    api.clock.advance(hours=1)
    # One of the "dead" was found alive: the record goes down from 8 to 7.
    await report_figures(api, incident["id"], figures={"deaths": 7, "injuries": 6}, note="1人获救")
    follow = {
        "kind": "follow_up",
        "facts": {"casualties": {"deaths": 7, "injured": 6, "missing": 3, "involved": 20}},
    }

    response = await office.draft(incident["id"], **follow)

    body = assert_problem(response, 409, article="Art. 16")
    assert body["differences"] == [
        {
            "field": "facts.casualties.deaths",
            "release": 7,
            "source": "publication",
            "source_field": "facts.casualties.deaths",
            "recorded": 8,
            "relation": "not_below",
            "source_id": first["id"],
        }
    ]
    explained = await office.drafted(
        incident["id"], **follow, explanation="经核实，1名此前报告遇难人员已获救"
    )
    assert explained["differences"][0]["source"] == "publication"


async def test_an_explanation_of_blanks_explains_nothing(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    response = await office.draft(incident["id"], facts=first_facts(deaths=7), explanation="   ")
    body = assert_problem(response, 409, article="Art. 16")
    assert [d["field"] for d in body["differences"]] == ["facts.casualties.deaths"]


async def test_a_retracted_publication_no_longer_binds_the_figures(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    first = await office.published(incident["id"])
    api.clock.advance(hours=1)
    await report_figures(api, incident["id"], figures={"deaths": 7})
    follow = {"kind": "follow_up", "facts": {"casualties": first_facts(deaths=7)["casualties"]}}
    # While the first release stands, its 8 dead bind a later figure (Art. 16).
    assert_problem(await office.draft(incident["id"], **follow), 409, article="Art. 16")

    retraction = await office.retraction(first["id"], "有误")
    await office.through_publication(retraction["id"])

    # Only the situation report is left to agree with.
    assert (await office.drafted(incident["id"], **follow))["differences"] == []


async def test_a_situation_report_after_approval_stops_the_publication_until_redrafted(
    api: Api,
) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"])
    await office.through_approval(draft["id"])
    await report_figures(api, incident["id"], figures={"deaths": 9})

    body = assert_problem(await office.act(draft["id"], "publish"), 409, article="Art. 16")
    assert body["differences"][0]["release"] == 8
    assert body["differences"][0]["recorded"] == 9

    # Back to the drafter, corrected, and through the whole flow again.
    rejected = await office.ok(
        draft["id"], "reject", headers=office.drafter, json={"reason": "数字更新"}
    )
    assert rejected["status"] == "rejected"
    response = await api.client.patch(
        f"{RELEASES}/{draft['id']}", headers=office.drafter, json={"facts": first_facts(deaths=9)}
    )
    assert response.status_code == 200, response.text
    assert_problem(await office.act(draft["id"], "publish"), 409, article="Art. 27")
    assert_problem(await office.act(draft["id"], "approve"), 409, article="Art. 27")
    await office.through_approval(draft["id"])
    published = await office.ok(draft["id"], "publish")
    assert published["round"] == 2
    assert published["facts"]["casualties"]["deaths"] == 9


# -- Art. 5(6), 22: only the responsible organ -------------------------------------------------


async def test_a_first_release_from_an_organ_not_responsible_names_the_responsible_one(
    api: Api,
) -> None:
    incident = await report_mine_accident(api)
    county = await PressOffice.of(api, PANZHOU)
    before = await stored_counts(api.db)

    response = await county.draft(incident["id"])

    body = assert_problem(response, 403, article="Art. 5(6), 22")
    assert body["responsible_org"] == {
        "id": EMERGENCY,
        "name_zh": "贵州省应急管理厅",
        "name_en": "Guizhou Department of Emergency Management",
    }
    assert "Guizhou Department of Emergency Management" in body["detail"]
    assert await stored_counts(api.db) == before
    for kind in ("follow_up", "summary", "conference"):
        assert_problem(await county.draft(incident["id"], kind=kind), 403)
    # Clarifying a rumour is not reserved to the responsible organ.
    assert (await county.draft(incident["id"], kind="rumor_clarification")).status_code == 201


async def test_responsibility_moving_mid_flow_stops_the_old_organ_publishing(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"])
    await office.through_approval(draft["id"])
    # Art. 22: once an on-site command is established it releases, uniformly.
    command = await api.token(PANZHOU, "approver")
    response = await api.post(
        f"{INCIDENTS}/{incident['id']}/command", command, json={"action": "establish"}
    )
    assert response.status_code == 200, response.text
    command_id = response.json()["on_site_command"]["org_id"]

    body = assert_problem(await office.act(draft["id"], "publish"), 403, article="Art. 5(6), 22")
    assert body["responsible_org"]["id"] == command_id


# -- Art. 15 and 39(6): the order of the flow ---------------------------------------------------


async def test_no_one_approves_their_own_draft(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    both = await api.token(EMERGENCY, "drafter", "approver")
    office.drafter = both
    draft = await office.drafted(incident["id"])
    await office.ok(draft["id"], "submit")
    await office.ok(draft["id"], "review")

    body = assert_problem(await office.act(draft["id"], "approve", both), 403, article="Art. 15")
    assert body["type"].endswith("/own-draft")
    # Someone else approves it.
    assert (await office.ok(draft["id"], "approve"))["status"] == "ready"


async def test_whoever_edited_a_draft_does_not_approve_it(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    both = await api.token(EMERGENCY, "drafter", "approver")
    draft = await office.drafted(incident["id"])
    response = await api.client.patch(
        f"{RELEASES}/{draft['id']}", headers=both, json={"title": "盘州市某煤矿透水事故通报"}
    )
    assert response.status_code == 200, response.text
    await office.ok(draft["id"], "submit")
    await office.ok(draft["id"], "review")

    body = assert_problem(await office.act(draft["id"], "approve", both), 403, article="Art. 15")
    assert body["type"].endswith("/own-draft")
    assert (await office.ok(draft["id"], "approve"))["status"] == "ready"


async def test_the_submitter_does_not_review_what_they_submitted(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    both = await api.token(EMERGENCY, "drafter", "reviewer")
    draft = await office.drafted(incident["id"])
    await office.ok(draft["id"], "submit", headers=both)
    body = assert_problem(await office.act(draft["id"], "review", both), 403, article="Art. 39(6)")
    assert body["type"].endswith("/own-draft")


async def test_approval_before_the_confidentiality_review_is_refused(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"])
    await office.ok(draft["id"], "submit")
    before = await stored_counts(api.db)

    body = assert_problem(await office.act(draft["id"], "approve"), 409, article="Art. 39(6)")
    assert body["current_step"] == "review"
    assert await stored_counts(api.db) == before
    # Nor can it be published, for the same reason.
    assert_problem(await office.act(draft["id"], "publish"), 409, article="Art. 39(6)")


async def test_a_failed_confidentiality_review_sends_the_release_back(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"])
    await office.ok(draft["id"], "submit")
    failed = await office.ok(
        draft["id"], "review", json={"passed": False, "note": "含未公开的矿井图纸编号"}
    )
    assert failed["status"] == "rejected"
    assert failed["rejection"]["step"] == "review"
    assert failed["rejection"]["reason"] == "含未公开的矿井图纸编号"
    assert_problem(await office.act(draft["id"], "approve"), 409, article="Art. 27")


async def test_publication_waits_for_every_co_signer(api: Api) -> None:
    # Level III across two prefectures: Liupanshui is responsible, Zunyi co-signs (Art. 15).
    incident = await report_mine_accident(
        api,
        reported_by="520000",
        division_codes=[PANZHOU, HONGHUAGANG],
        figures={"deaths": 4, "missing": 0, "injuries": 2, "trapped": 0},
    )
    assert incident["level"] == "III"
    assert incident["responsible_org"]["id"] == LIUPANSHUI_GOV
    assert [c["id"] for c in incident["co_signers"]] == [ZUNYI_GOV]
    office = await PressOffice.of(api, LIUPANSHUI_GOV)
    draft = await office.drafted(
        incident["id"],
        kind="follow_up",
        facts={"casualties": {"deaths": 4, "injured": 2, "missing": 0, "involved": 30}},
    )
    approved = await office.through_approval(draft["id"])
    assert approved["status"] == "in_cosigning"
    assert approved["current_step"]["waiting_for"] == [ZUNYI_GOV]

    body = assert_problem(await office.act(draft["id"], "publish"), 409, article="Art. 15")
    assert body["waiting_for"] == [ZUNYI_GOV]
    # Only the co-signing organ's approver confirms.
    assert_problem(await office.act(draft["id"], "cosign", office.approver), 403)
    zunyi_drafter = await api.token(ZUNYI_GOV, "drafter")
    assert_problem(await office.act(draft["id"], "cosign", zunyi_drafter), 403)
    zunyi = await api.token(ZUNYI_GOV, "approver")
    cosigned = await office.ok(draft["id"], "cosign", headers=zunyi, json={"note": "同意"})
    assert cosigned["status"] == "ready"
    assert_problem(await office.act(draft["id"], "cosign", zunyi), 409)
    assert (await office.ok(draft["id"], "publish"))["status"] == "published"


# -- roles and jurisdiction -------------------------------------------------------------------


async def test_roles_are_checked_before_anything_else(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"])
    viewer = await api.token(EMERGENCY, "viewer")
    assert_problem(await api.post(f"{INCIDENTS}/{incident['id']}/releases", viewer, json={}), 403)
    await office.ok(draft["id"], "submit")
    # The approver is no confidentiality reviewer.
    assert_problem(await office.act(draft["id"], "review", office.approver), 403)
    assert_problem(await office.act(draft["id"], "approve", office.reviewer), 403)


async def test_releases_outside_the_jurisdiction_do_not_exist(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    release = await office.published(incident["id"])
    elsewhere = await PressOffice.of(api, HONGHUAGANG)
    seen_here = await api.token(PANZHOU, "viewer")

    assert_problem(await api.get(f"{RELEASES}/{release['id']}", elsewhere.reviewer), 404)
    listed = await api.get(RELEASES, elsewhere.reviewer)
    assert listed.json()["items"] == []
    assert_problem(await elsewhere.act(release["id"], "approve"), 404)
    assert_problem(await api.get(f"{RELEASES}/{release['id']}", elsewhere.reviewer), 404)
    assert (await api.get(f"{RELEASES}/{release['id']}", seen_here)).status_code == 200
    assert [r["id"] for r in (await api.get(RELEASES, seen_here)).json()["items"]] == [
        release["id"]
    ]


# -- immutability --------------------------------------------------------------------------------


async def test_a_publication_never_changes(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    release = await office.published(incident["id"])
    before = await stored_counts(api.db)

    assert_problem(await office.act(release["id"], "publish"), 409)
    assert_problem(await office.act(release["id"], "approve"), 409)
    assert_problem(
        await office.act(release["id"], "reject", office.approver, json={"reason": "x"}), 409
    )
    response = await api.client.patch(
        f"{RELEASES}/{release['id']}", headers=office.drafter, json={"title": "改"}
    )
    assert_problem(response, 409)
    assert await stored_counts(api.db) == before
    again = (await api.get(f"{RELEASES}/{release['id']}", office.drafter)).json()
    assert again["title"] == release["title"]
    assert again["version"] == release["version"]


async def test_bad_bodies_name_the_field(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    url = f"{INCIDENTS}/{incident['id']}/releases"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "press_release"}, "kind"),
        ({"channels": ["tiktok"]}, "channels[0]"),
        ({"channels": []}, "channels"),
        ({"facts": {**first_facts(), "casualties": {"deaths": -1}}}, "facts.casualties.deaths"),
        ({"facts": {**first_facts(), "time": "2026-11-27T09:00:00"}}, "facts.time"),
        ({"replaces_id": "rel_nope", "kind": "correction"}, "replaces_id"),
        ({"kind": "correction"}, "replaces_id"),
        ({"subject_id": "x"}, "subject_id"),
        ({"co_signers": ["gov-999999"]}, "co_signers[0]"),
        # Art. 21: paid provision of news information is not a thing a release can carry.
        ({"price_cny": 100}, "price_cny"),
    ]
    for change, field in cases:
        body = {**release_body("first"), **change}
        response = await api.post(url, office.drafter, json=body)
        assert_problem(response, 422, field=field)
