"""Art. 20 items an organ registers itself over HTTP: reviewed regular information and
matters raised by media supervision, each owed within 5 working days (RULES §3)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.obligations.conftest import LIUPANSHUI, NANMING, PANZHOU, Scenario, utc
from tests.releases.helpers import PressOffice, assert_problem

REGULAR = "/api/v1/obligations/regular-info"
MEDIA = "/api/v1/obligations/media-supervision"


async def _register(
    scenario: Scenario, url: str, org: str, role: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    r = await scenario.api.post(url, await scenario.as_(org, role), body)
    return r.status_code, r.json()


async def test_a_county_registers_reviewed_regular_information_and_owes_it_by_13_october(
    scenario: Scenario,
) -> None:
    scenario.clock.set(utc("2026-09-30T06:00:00Z"))  # Wed 30 Sep, 14:00 in Guiyang
    body = {"subject_id": "doc-2026-118", "reviewed_at": "2026-09-30T02:00:00Z"}
    status, owed = await _register(scenario, REGULAR, PANZHOU, "reviewer", body)
    assert status == 201, owed
    # 8, 9, 10 (adjusted Saturday), 12, 13 October: due at the end of the 13th, local time.
    assert (owed["kind"], owed["org_id"], owed["article"], owed["status"]) == (
        "regular_info",
        f"gov-{PANZHOU}",
        "Art. 20",
        "pending",
    )
    assert owed["due_at"] == "2026-10-13T16:00:00Z"
    assert owed["seconds_remaining"] == 13 * 86400 + 10 * 3600
    assert owed["subject"] == {"type": "regular_info", "id": "doc-2026-118"}
    assert owed["calendar_estimated"] is False

    # The same facts again open nothing.
    status, again = await _register(scenario, REGULAR, PANZHOU, "reviewer", body)
    assert (status, again["id"], again["due_at"]) == (200, owed["id"], owed["due_at"])
    # Another county's document of the same number is its own obligation.
    status, theirs = await _register(scenario, REGULAR, NANMING, "reviewer", body)
    assert status == 201
    assert theirs["id"] != owed["id"]
    assert theirs["org_id"] == f"gov-{NANMING}"

    # A corrected review time (Tue 29 Sep) moves the due time: 30 Sep, 8, 9, 10, 12 Oct.
    status, moved = await _register(
        scenario,
        REGULAR,
        PANZHOU,
        "reviewer",
        {"subject_id": "doc-2026-118", "reviewed_at": "2026-09-29T02:00:00Z"},
    )
    assert (status, moved["id"], moved["due_at"]) == (200, owed["id"], "2026-10-12T16:00:00Z")

    # Its publication, naming the document, meets Panzhou's clock and not Nanming's.
    scenario.clock.set(utc("2026-10-09T02:00:00Z"))
    office = await PressOffice.of(scenario.api, f"gov-{PANZHOU}")
    release = await office.published(None, kind="regular_info", subject_id="doc-2026-118")
    viewer = await scenario.as_("520000", "viewer")
    mine = (await scenario.api.get(f"/api/v1/obligations/{owed['id']}", viewer)).json()
    assert (mine["status"], mine["met_at"], mine["met_by"]) == (
        "met",
        "2026-10-09T02:00:00Z",
        release["id"],
    )
    other = (await scenario.api.get(f"/api/v1/obligations/{theirs['id']}", viewer)).json()
    assert other["status"] == "pending"
    report = await scenario.at(utc("2026-10-13T16:00:00Z"))
    assert report.breaches == 1  # Nanming's, not the one met


async def test_a_media_supervision_matter_registered_by_a_prefecture_is_owed_in_5_working_days(
    scenario: Scenario,
) -> None:
    scenario.clock.set(utc("2026-09-30T06:00:00Z"))
    status, owed = await _register(
        scenario, MEDIA, LIUPANSHUI, "reporter", {"subject_id": "case-88"}
    )
    assert status == 201, owed
    # Registered now (14:00 on 30 Sep in Guiyang): 8, 9, 10, 12, 13 October.
    assert (owed["kind"], owed["article"], owed["due_at"]) == (
        "media_supervision",
        "Art. 20",
        "2026-10-13T16:00:00Z",
    )
    assert owed["org_id"] == f"gov-{LIUPANSHUI}"
    await scenario.at(utc("2026-10-13T16:00:00Z"))
    viewer = await scenario.as_("520000", "viewer")
    breached = (await scenario.api.get(f"/api/v1/obligations/{owed['id']}", viewer)).json()
    # A prefecture's breach goes to the provincial information office.
    assert (breached["status"], breached["escalated_to_org_id"]) == ("breached", "io-520000")


async def test_registrations_are_refused_for_the_wrong_role_or_a_time_in_the_future(
    scenario: Scenario,
) -> None:
    scenario.clock.set(utc("2026-09-30T06:00:00Z"))
    r = await scenario.api.post(
        REGULAR, await scenario.as_(PANZHOU, "viewer"), {"subject_id": "doc-1"}
    )
    assert_problem(r, 403)
    r = await scenario.api.post(
        REGULAR,
        await scenario.as_(PANZHOU, "reviewer"),
        {"subject_id": "doc-1", "reviewed_at": "2026-09-30T06:00:01Z"},
    )
    assert_problem(r, 422, field="reviewed_at", article="Art. 20")
    r = await scenario.api.post(
        MEDIA,
        await scenario.as_(PANZHOU, "reporter"),
        {"subject_id": "case-1", "registered_at": "2026-09-30T06:00:00"},
    )
    assert_problem(r, 422)  # no offset: refused rather than guessed
    r = await scenario.api.post(MEDIA, {}, {"subject_id": "case-1"})
    assert_problem(r, 401)


async def test_a_later_time_never_pushes_an_art_20_deadline_back(scenario: Scenario) -> None:
    scenario.clock.set(utc("2026-10-13T04:00:00Z"))  # the due day, noon in Guiyang
    first = {"subject_id": "doc-2026-118", "reviewed_at": "2026-09-30T02:00:00Z"}
    status, owed = await _register(scenario, REGULAR, PANZHOU, "reviewer", first)
    assert (status, owed["due_at"]) == (201, "2026-10-13T16:00:00Z")

    later = {"subject_id": "doc-2026-118", "reviewed_at": "2026-10-13T04:00:00Z"}
    r = await scenario.api.post(REGULAR, await scenario.as_(PANZHOU, "reviewer"), later)
    assert_problem(r, 409, field="reviewed_at", article="Art. 20")
    assert r.json()["due_at"] == "2026-10-13T16:00:00Z"
    # The deadline stands and breaches when it was due.
    await scenario.at(utc("2026-10-13T16:00:00Z"))
    breached = await scenario.api.get(
        f"/api/v1/obligations/{owed['id']}", await scenario.as_(PANZHOU, "viewer")
    )
    assert breached.json()["status"] == "breached"


async def test_the_same_item_registered_four_times_at_once_is_owed_once(
    scenario: Scenario,
) -> None:
    scenario.clock.set(utc("2026-09-30T06:00:00Z"))
    reviewer = await scenario.as_(PANZHOU, "reviewer")
    body = {"subject_id": "doc-retried", "reviewed_at": "2026-09-30T02:00:00Z"}
    answers = await asyncio.gather(*(scenario.api.post(REGULAR, reviewer, body) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in answers}) == 1
    listed = await scenario.api.get(
        "/api/v1/obligations?kind=regular_info", await scenario.as_(PANZHOU, "viewer")
    )
    assert [o["subject"]["id"] for o in listed.json()["items"]] == ["doc-retried"]
