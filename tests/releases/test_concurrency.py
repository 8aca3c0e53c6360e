"""Acts racing on one release: exactly one wins, and the record shows one act, one event.

The requests run at the same moment on one event loop against the app; SQLite queues
writers, PostgreSQL locks the release row, and the release's version catches anything
that slips past either.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from app.models import Event, Obligation
from app.models.releases import ReleaseAct
from tests.conftest import Api
from tests.releases.helpers import (
    EMERGENCY,
    HONGHUAGANG,
    PANZHOU,
    ZHONGSHAN,
    PressOffice,
    report_mine_accident,
)


async def _count(api: Api, stmt: object) -> int:
    async with api.db.read() as session:
        return int((await session.execute(stmt)).scalar_one())  # type: ignore[call-overload]


async def test_two_approvers_at_the_same_moment_exactly_one_approves(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"])
    await office.ok(draft["id"], "submit")
    await office.ok(draft["id"], "review")
    deputy = await api.token(EMERGENCY, "approver")

    first, second = await asyncio.gather(
        office.act(draft["id"], "approve", office.approver),
        office.act(draft["id"], "approve", deputy),
    )

    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = first if first.status_code == 409 else second
    assert loser.headers["content-type"].startswith("application/problem+json")
    release = (await api.get(f"/api/v1/releases/{draft['id']}", deputy)).json()
    assert release["status"] == "ready"
    approve_step = release["flow"][2]
    assert len(approve_step["done_by"]) == 1
    assert (
        await _count(
            api,
            select(func.count()).select_from(ReleaseAct).where(ReleaseAct.step == "approve"),
        )
        == 1
    )
    assert (
        await _count(
            api, select(func.count()).select_from(Event).where(Event.type == "release.approved")
        )
        == 1
    )
    # The winner's state is whole: the release goes on to publication.
    assert (await office.ok(draft["id"], "publish"))["status"] == "published"


async def test_two_publishers_at_the_same_moment_publish_once_and_meet_once(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"])
    await office.through_approval(draft["id"])
    colleague = await api.token(EMERGENCY, "drafter")

    results = await asyncio.gather(
        office.act(draft["id"], "publish", office.drafter),
        office.act(draft["id"], "publish", colleague),
    )

    assert sorted(r.status_code for r in results) == [200, 409]
    assert (
        await _count(
            api, select(func.count()).select_from(Event).where(Event.type == "release.published")
        )
        == 1
    )
    assert (
        await _count(
            api, select(func.count()).select_from(Event).where(Event.type == "obligation.met")
        )
        == 1
    )
    # One follow-up opened by the one publication.
    assert (
        await _count(
            api,
            select(func.count())
            .select_from(Obligation)
            .where(Obligation.incident_id == incident["id"], Obligation.kind == "follow_up"),
        )
        == 1
    )


async def test_co_signers_confirming_at_once_all_count(api: Api) -> None:
    # Level IV across three counties of two prefectures: Panzhou's county government is
    # responsible, the other two co-sign (Art. 15); both confirm at the same moment.
    incident = await report_mine_accident(
        api,
        reported_by="520000",
        division_codes=[PANZHOU, ZHONGSHAN, HONGHUAGANG],
        figures={"deaths": 1, "missing": 0, "injuries": 0, "trapped": 0},
    )
    assert incident["level"] == "IV"
    co_signers = [c["id"] for c in incident["co_signers"]]
    assert len(co_signers) == 2
    office = await PressOffice.of(api, incident["responsible_org"]["id"])
    assert office.org == f"gov-{PANZHOU}"
    draft = await office.drafted(
        incident["id"],
        kind="follow_up",
        facts={"casualties": {"deaths": 1, "injured": 0, "missing": 0, "involved": 6}},
    )
    await office.through_approval(draft["id"])
    tokens = [await api.token(org, "approver") for org in co_signers]
    twice = await api.token(co_signers[0], "approver")

    results = await asyncio.gather(
        *(office.act(draft["id"], "cosign", t) for t in [*tokens, twice])
    )

    # Each organ confirms once; the second approver of the first organ is one too many.
    assert sorted(r.status_code for r in results) == [200, 200, 409]
    release = (await api.get(f"/api/v1/releases/{draft['id']}", tokens[0])).json()
    assert release["status"] == "ready"
    assert sorted(a["org_id"] for a in release["flow"][3]["done_by"]) == sorted(co_signers)
