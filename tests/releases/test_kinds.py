"""Every kind of release, on an incident or standing alone, to the channels it names; and
the clocks a follow-up and a media-supervision response meet (RULES §3, §4; Art. 20, 23)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.models import Event, Obligation
from app.rules.releases import ReleaseKind
from app.workflows import obligations as obligations_wf
from tests.conftest import T0, Api
from tests.releases.helpers import (
    EMERGENCY,
    RELEASES,
    PressOffice,
    assert_problem,
    first_facts,
    incident_now,
    obligation,
    report_mine_accident,
    z,
)

# Art. 23, 24: these speak about an incident and only about one.
INCIDENT_ONLY = ("first", "follow_up", "summary")
STANDING_ALONE = (
    "conference",
    "early_warning",
    "rumor_clarification",
    "hotspot_response",
    "regular_info",
    "media_supervision_response",
)
# RULES §4: a new publication that replaces an earlier one, on whatever that one was about.
REPLACING = ("correction", "retraction")
ALL_KINDS = (*INCIDENT_ONLY, *STANDING_ALONE, *REPLACING)
SUMMARY_FACTS = {"causes": "违规越界开采导致透水", "losses": "8人死亡", "relief": "家属已安置"}


def test_the_kinds_named_here_are_every_kind_the_service_knows() -> None:
    assert {k.value for k in ReleaseKind} == set(ALL_KINDS)
    # Each kind in exactly one of the groups above.
    assert len(ALL_KINDS) == len(set(ALL_KINDS)) == len(ReleaseKind)


@pytest.mark.parametrize("kind", ALL_KINDS)
async def test_every_kind_is_drafted_on_an_incident_with_the_channels_it_names(
    api: Api, kind: str
) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    extra: dict[str, Any] = {}
    if kind == "summary":
        extra["facts"] = SUMMARY_FACTS
    if kind in REPLACING:
        extra["replaces_id"] = (await office.published(incident["id"]))["id"]

    draft = await office.drafted(incident["id"], kind=kind, channels=["website", "client"], **extra)

    assert draft["kind"] == kind
    assert draft["incident_id"] == incident["id"]
    assert draft["channels"] == ["website", "client"]
    assert draft["status"] == "draft"
    assert draft["org"]["id"] == EMERGENCY
    assert draft["kind_label"]["zh"] and draft["kind_label"]["en"]
    assert draft["replaces_id"] == extra.get("replaces_id")


@pytest.mark.parametrize("kind", STANDING_ALONE)
async def test_a_release_standing_alone_belongs_to_its_organ(api: Api, kind: str) -> None:
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(None, kind=kind, channels=["weibo"], facts=None)
    assert draft["incident_id"] is None
    assert draft["channels"] == ["weibo"]
    # Seen in the organ's division, not elsewhere (the province, for a department).
    zunyi = await api.token("520300", "viewer")
    assert_problem(await api.get(f"{RELEASES}/{draft['id']}", zunyi), 404)
    province = await api.token("520000", "viewer")
    assert (await api.get(f"{RELEASES}/{draft['id']}", province)).status_code == 200


@pytest.mark.parametrize("kind", INCIDENT_ONLY)
async def test_incident_kinds_do_not_stand_alone(api: Api, kind: str) -> None:
    office = await PressOffice.of(api, EMERGENCY)
    facts = SUMMARY_FACTS if kind == "summary" else first_facts()
    assert_problem(await office.draft(None, kind=kind, facts=facts), 422, field="kind")


async def test_a_release_standing_alone_goes_out_to_its_channels(api: Api) -> None:
    office = await PressOffice.of(api, EMERGENCY)
    published = await office.published(
        None, kind="hotspot_response", channels=["wechat", "website", "wechat"], facts=None
    )
    assert published["status"] == "published"
    # Named twice, sent once; in the order named.
    assert published["channels"] == ["wechat", "website"]
    async with api.db.read() as session:
        [event] = (
            await session.execute(select(Event).where(Event.type == "release.published"))
        ).scalars()
    assert event.incident_id is None
    assert event.data["channels"] == ["wechat", "website"]
    assert event.data["division_codes"] == ["520000"]


async def test_a_follow_up_meets_the_follow_up_clock_and_opens_the_next(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    api.clock.advance(minutes=50)
    await office.published(incident["id"])
    owed = obligation(await incident_now(api, incident["id"]), "follow_up")
    assert owed["due_at"] == z(T0 + timedelta(minutes=50, hours=6))

    api.clock.advance(hours=2)
    follow_up = await office.published(
        incident["id"],
        kind="follow_up",
        title="盘州市某煤矿透水事故救援进展",
        facts={"casualties": first_facts()["casualties"]},
    )

    after = await incident_now(api, incident["id"])
    follow_ups = [o for o in after["obligations"] if o["kind"] == "follow_up"]
    assert [(o["id"], o["status"], o["met_by"]) for o in follow_ups[:1]] == [
        (owed["id"], "met", follow_up["id"])
    ]
    assert follow_ups[0]["met_at"] == z(T0 + timedelta(minutes=170))
    # Art. 23: the next follow-up, 6 h after this publication.
    [(status, due_at)] = [(o["status"], o["due_at"]) for o in follow_ups[1:]]
    assert (status, due_at) == ("pending", z(T0 + timedelta(minutes=170, hours=6)))


async def test_a_media_supervision_response_meets_its_art_20_clock(api: Api) -> None:
    office = await PressOffice.of(api, EMERGENCY)
    async with api.db.write() as session:
        owed = await obligations_wf.open_media_supervision(
            session, EMERGENCY, T0, subject_id="cctv-report-1127", at=T0
        )
        other = await obligations_wf.open_media_supervision(
            session, EMERGENCY, T0, subject_id="other-matter", at=T0
        )
    api.clock.advance(days=2)

    release = await office.published(
        None,
        kind="media_supervision_response",
        subject_id="cctv-report-1127",
        title="关于媒体反映某煤矿违规生产问题的调查处理情况",
        facts=None,
    )

    async with api.db.read() as session:
        met = await session.get(Obligation, owed.id)
        untouched = await session.get(Obligation, other.id)
        assert met is not None and untouched is not None
        assert (met.status, met.met_by) == ("met", release["id"])
        # Only the matter it answers.
        assert untouched.status == "pending"
