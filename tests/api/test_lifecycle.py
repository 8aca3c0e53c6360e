"""An incident's life through the API: situation reports, command, escalation, override, close.

Each change must leave a responsibility record where responsibility moved, an audit entry
naming the token, organ and roles with the state before and after, and an event, all in
the same transaction, in order on the timeline.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.clock import ManualClock
from app.models import AuditEntry, Event, ResponsibilityChange
from tests.api.helpers import (
    GUIZHOU,
    INCIDENTS,
    LIUPANSHUI,
    PANZHOU,
    assert_problem,
    audits_of,
    create,
    events_of,
    stored_counts,
    timeline,
)
from tests.conftest import T0, Api

EMERGENCY = "dept-emergency_management"


async def _report(
    api: Api, headers: dict[str, str], incident_id: str, **body: Any
) -> dict[str, Any]:
    response = await api.post(f"{INCIDENTS}/{incident_id}/reports", headers, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _responsibility_rows(api: Api, incident_id: str) -> list[tuple[str | None, str, str]]:
    async with api.db.read() as session:
        rows = await session.execute(
            select(ResponsibilityChange)
            .where(ResponsibilityChange.incident_id == incident_id)
            .order_by(ResponsibilityChange.at, ResponsibilityChange.id)
        )
        return [(r.from_org_id, r.to_org_id, r.kind) for r in rows.scalars()]


def _obligation(incident: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [o for o in incident["obligations"] if o["kind"] == kind]
    assert len(found) == 1, incident["obligations"]
    return found[0]


# -- situation reports -----------------------------------------------------------------------


async def test_new_casualties_raise_the_level_at_once_and_move_the_release_work(
    api: Api, clock: ManualClock
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    mine = await create(api, reporter)
    assert (mine["level"], mine["responsible_org"]["id"]) == ("IV", f"gov-{PANZHOU}")

    clock.advance(minutes=40)
    update = await _report(api, reporter, mine["id"], figures={"deaths": 3}, note="发现3名遇难者")
    assert update["level"] == "III"
    assert update["responsible_org"]["id"] == f"gov-{LIUPANSHUI}"
    assert update["level_basis"][0] == {
        "criterion": "deaths incl. missing ≥ 3",
        "value": 3,
        "level": "III",
        "source": update["level_basis"][0]["source"],
    }
    assert "Decree No. 493" in update["level_basis"][0]["source"]
    # The earlier figures stay; the report only adds what it names.
    assert update["figures"] == {"deaths": 3, "trapped": 4}

    # Two hours after the event 8 are dead and 2 missing: missing count with the dead.
    clock.set(T0 + timedelta(hours=2))
    major = await _report(api, reporter, mine["id"], figures={"deaths": 8, "missing": 2})
    assert major["level"] == "II"
    assert major["level_basis"][0]["criterion"] == "deaths incl. missing ≥ 10"
    assert major["level_basis"][0]["value"] == 10
    assert major["level_basis"][0]["level"] == "II"
    assert major["responsible_org"]["id"] == EMERGENCY
    assert major["level_known_at"]["II"] == "2026-11-27T04:00:00Z"
    assert major["level_known_at"]["III"] == "2026-11-27T02:40:00Z"
    assert major["level_known_at"]["IV"] == "2026-11-27T02:00:00Z"
    # Art. 23: occurred 01:00, known(II) 04:00 → first release by max(04:00, 05:00).
    assert _obligation(major, "first_release")["due_at"] == "2026-11-27T05:00:00Z"
    assert _obligation(major, "first_release")["org_id"] == EMERGENCY

    entries = await timeline(api, reporter, mine["id"])
    changes = events_of(entries, "incident.level_changed")
    assert [(e["data"]["from"], e["data"]["to"]) for e in changes] == [("IV", "III"), ("III", "II")]
    moved = events_of(entries, "incident.responsibility_changed")
    assert [(e["data"]["from_org_id"], e["data"]["to_org_id"]) for e in moved] == [
        (f"gov-{PANZHOU}", f"gov-{LIUPANSHUI}"),
        (f"gov-{LIUPANSHUI}", EMERGENCY),
    ]
    assert await _responsibility_rows(api, mine["id"]) == [
        (None, f"gov-{PANZHOU}", "county_government"),
        (f"gov-{PANZHOU}", f"gov-{LIUPANSHUI}", "prefecture_government"),
        (f"gov-{LIUPANSHUI}", EMERGENCY, "disposal_authority"),
    ]


async def test_known_ii_is_the_time_the_report_was_received_not_when_it_was_entered(
    api: Api, clock: ManualClock
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    mine = await create(api, reporter)
    clock.set(T0 + timedelta(hours=5))
    # The report reached the county at 06:30 and is typed in at 07:00.
    update = await _report(
        api, reporter, mine["id"], reported_at="2026-11-27T06:30:00Z", figures={"deaths": 11}
    )
    assert update["level"] == "II"
    assert update["level_known_at"]["II"] == "2026-11-27T06:30:00Z"
    # RULES §3: an upgrade 5 h after the event is due 1 h after it was known.
    assert _obligation(update, "first_release")["due_at"] == "2026-11-27T07:30:00Z"


async def test_lower_figures_never_lower_the_level_by_themselves(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    mine = await create(api, reporter, figures={"deaths": 4})
    assert mine["level"] == "III"
    corrected = await _report(api, reporter, mine["id"], figures={"deaths": 2}, note="核减")
    assert corrected["figures"]["deaths"] == 2
    assert corrected["level"] == "III"
    assert corrected["responsible_org"]["id"] == f"gov-{LIUPANSHUI}"
    entries = await timeline(api, reporter, mine["id"])
    assert events_of(entries, "incident.level_changed") == []


async def test_a_report_with_a_basis_can_assert_a_higher_level(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    mine = await create(api, reporter)
    update = await _report(
        api,
        reporter,
        mine["id"],
        asserted_level="II",
        asserted_basis="井下仍有大量人员失联，社会影响重大",
    )
    assert update["level"] == "II"
    assert {"criterion": "asserted", "level": "II"}.items() <= update["level_basis"][0].items()


# -- on-site command -------------------------------------------------------------------------


async def test_an_on_site_command_takes_the_release_work_and_hands_it_back(
    api: Api, clock: ManualClock
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    mine = await create(api, reporter, figures={"deaths": 10})
    assert mine["responsible_org"]["id"] == EMERGENCY

    clock.advance(minutes=20)
    response = await api.post(
        f"{INCIDENTS}/{mine['id']}/command", reporter, json={"action": "establish"}
    )
    assert response.status_code == 200
    commanded = response.json()
    command_id = commanded["on_site_command"]["org_id"]
    assert commanded["on_site_command"]["established_at"] == "2026-11-27T02:20:00Z"
    assert commanded["responsible_org"]["id"] == command_id
    assert commanded["responsible_org"]["name_zh"].endswith("现场指挥部")
    # Open obligations follow the responsibility with their due times unchanged.
    first = _obligation(commanded, "first_release")
    assert (first["org_id"], first["due_at"]) == (command_id, "2026-11-27T04:00:00Z")
    org = await api.get(f"/api/v1/orgs/{command_id}", reporter)
    assert org.json()["kind"] == "on_site_command"
    assert org.json()["division_code"] == PANZHOU

    again = await api.post(
        f"{INCIDENTS}/{mine['id']}/command", reporter, json={"action": "establish"}
    )
    assert_problem(again, 409)

    clock.advance(hours=6)
    stood_down = await api.post(
        f"{INCIDENTS}/{mine['id']}/command", reporter, json={"action": "stand_down"}
    )
    assert stood_down.status_code == 200
    assert stood_down.json()["on_site_command"] is None
    assert stood_down.json()["responsible_org"]["id"] == EMERGENCY

    assert await _responsibility_rows(api, mine["id"]) == [
        (None, EMERGENCY, "disposal_authority"),
        (EMERGENCY, command_id, "on_site_command"),
        (command_id, EMERGENCY, "disposal_authority"),
    ]
    entries = await timeline(api, reporter, mine["id"])
    moved = events_of(entries, "incident.responsibility_changed")
    assert [(e["at"], e["data"]["to_org_id"]) for e in moved] == [
        ("2026-11-27T02:20:00Z", command_id),
        ("2026-11-27T08:20:00Z", EMERGENCY),
    ]
    assert [a["action"] for a in audits_of(entries)] == [
        "incident.create",
        "incident.command.establish",
        "incident.command.stand_down",
    ]


async def test_under_a_command_a_level_iv_incident_is_still_released_by_the_county(
    api: Api,
) -> None:
    # Art. 22 gives the command the release for I/II; below that the county keeps it.
    reporter = await api.token(PANZHOU, "reporter")
    mine = await create(api, reporter)
    response = await api.post(
        f"{INCIDENTS}/{mine['id']}/command", reporter, json={"action": "establish", "name": "抢险"}
    )
    assert response.status_code == 200
    assert response.json()["responsible_org"]["id"] == f"gov-{PANZHOU}"
    assert response.json()["on_site_command"] is not None


# -- escalation ------------------------------------------------------------------------------


async def test_escalation_hands_a_major_incident_to_the_provincial_government(
    api: Api, clock: ManualClock
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    office = await api.token(GUIZHOU, "info_office")
    mine = await create(api, reporter, figures={"deaths": 12})
    # Art. 23: occurred 01:00, known(II) at intake 02:00 → max(04:00, 03:00).
    assert _obligation(mine, "first_release")["due_at"] == "2026-11-27T04:00:00Z"
    clock.advance(minutes=30)
    response = await api.post(
        f"{INCIDENTS}/{mine['id']}/escalation",
        office,
        json={"reason": "社会关注度高，省政府统一发布"},
    )
    assert response.status_code == 200
    escalated = response.json()
    assert escalated["escalated"] is True
    assert escalated["responsible_org"]["id"] == f"gov-{GUIZHOU}"
    # RULES §2: the open obligation moves to the new organ with its due time unchanged.
    first = _obligation(escalated, "first_release")
    assert (first["org_id"], first["due_at"]) == (f"gov-{GUIZHOU}", "2026-11-27T04:00:00Z")

    twice = await api.post(f"{INCIDENTS}/{mine['id']}/escalation", office, json={"reason": "again"})
    assert_problem(twice, 409)

    entries = await timeline(api, office, mine["id"])
    raised = events_of(entries, "escalation.raised")
    assert len(raised) == 1
    assert raised[0]["data"]["reason"] == "社会关注度高，省政府统一发布"
    audit = audits_of(entries, "incident.escalate")[0]
    assert audit["org_id"] == f"gov-{GUIZHOU}"
    assert audit["roles"] == ["info_office"]
    assert audit["reason"] == "社会关注度高，省政府统一发布"
    assert audit["before"]["responsible_org_id"] == EMERGENCY
    assert audit["after"]["responsible_org_id"] == f"gov-{GUIZHOU}"


async def test_an_active_command_keeps_the_release_work_over_an_escalation(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    office = await api.token(GUIZHOU, "info_office")
    mine = await create(api, reporter, figures={"deaths": 12})
    url = f"{INCIDENTS}/{mine['id']}"
    command = await api.post(f"{url}/command", reporter, json={"action": "establish"})
    command_id = command.json()["on_site_command"]["org_id"]
    escalated = await api.post(f"{url}/escalation", office, json={"reason": "省政府介入"})
    assert escalated.json()["responsible_org"]["id"] == command_id
    stood_down = await api.post(f"{url}/command", reporter, json={"action": "stand_down"})
    assert stood_down.json()["responsible_org"]["id"] == f"gov-{GUIZHOU}"


# -- classification override -----------------------------------------------------------------


async def test_an_approver_lowers_the_level_with_a_reason_and_it_is_on_the_record(
    api: Api, clock: ManualClock
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    approver = await api.token(LIUPANSHUI, "approver")
    mine = await create(api, reporter, figures={"deaths": 10})
    assert _obligation(mine, "first_release")["status"] == "pending"

    without_reason = await api.post(
        f"{INCIDENTS}/{mine['id']}/classification", approver, json={"level": "III"}
    )
    assert_problem(without_reason, 422, "reason")

    clock.advance(minutes=15)
    response = await api.post(
        f"{INCIDENTS}/{mine['id']}/classification",
        approver,
        json={"level": "III", "reason": "经核实，3名遇难者系重复统计"},
    )
    assert response.status_code == 200
    lowered = response.json()
    assert lowered["level"] == "III"
    assert lowered["responsible_org"]["id"] == f"gov-{LIUPANSHUI}"
    assert lowered["level_basis"][-1]["criterion"] == "override"
    assert lowered["level_basis"][-1]["value"] == "经核实，3名遇难者系重复统计"
    # RULES §3: a downgrade below II before the first release cancels the Art. 23 clocks.
    first = _obligation(lowered, "first_release")
    assert first["status"] == "cancelled"

    entries = await timeline(api, approver, mine["id"])
    audit = audits_of(entries, "incident.classification")[0]
    assert audit["org_id"] == f"gov-{LIUPANSHUI}"
    assert audit["roles"] == ["approver"]
    assert audit["token_id"].startswith("tok_")
    assert audit["reason"] == "经核实，3名遇难者系重复统计"
    assert (audit["before"]["level"], audit["after"]["level"]) == ("II", "III")
    changed = events_of(entries, "incident.level_changed")[-1]
    assert (changed["data"]["from"], changed["data"]["to"]) == ("II", "III")

    # The decision stands until new facts go beyond what was decided on.
    clock.advance(minutes=15)
    note_only = await _report(api, reporter, mine["id"], note="现场清理中")
    assert note_only["level"] == "III"
    same_level = await _report(api, reporter, mine["id"], figures={"deaths": 11})
    assert same_level["level"] == "III"
    worse = await _report(api, reporter, mine["id"], figures={"deaths": 31})
    assert worse["level"] == "I"
    assert worse["responsible_org"]["id"] == EMERGENCY


async def test_an_information_office_may_raise_the_level_by_decision(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    office = await api.token(LIUPANSHUI, "info_office")
    mine = await create(api, reporter)
    response = await api.post(
        f"{INCIDENTS}/{mine['id']}/classification",
        office,
        json={"level": "II", "reason": "舆情重大，按重大事件处置"},
    )
    assert response.status_code == 200
    assert response.json()["level"] == "II"
    assert response.json()["responsible_org"]["id"] == EMERGENCY
    assert response.json()["level_known_at"]["II"] == "2026-11-27T02:00:00Z"

    unchanged = await api.post(
        f"{INCIDENTS}/{mine['id']}/classification", office, json={"level": "II", "reason": "x"}
    )
    assert_problem(unchanged, 409)


# -- close -----------------------------------------------------------------------------------


async def test_a_closed_incident_takes_no_more_reports(api: Api, clock: ManualClock) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    mine = await create(api, reporter, figures={"deaths": 12})
    clock.advance(days=2)
    response = await api.post(f"{INCIDENTS}/{mine['id']}/close", reporter, json={"reason": "结束"})
    assert response.status_code == 200
    closed = response.json()
    assert closed["status"] == "closed"
    assert closed["closed_at"] == "2026-11-29T02:00:00Z"
    # Art. 24: a closed level II accident owes a summary release.
    assert _obligation(closed, "disaster_summary")["status"] == "pending"

    before = await stored_counts(api.db)
    late = await api.post(f"{INCIDENTS}/{mine['id']}/reports", reporter, json={"note": "x"})
    assert_problem(late, 409)
    again = await api.post(f"{INCIDENTS}/{mine['id']}/close", reporter, json={"reason": "x"})
    assert_problem(again, 409)
    assert await stored_counts(api.db) == before

    entries = await timeline(api, reporter, mine["id"])
    audit = audits_of(entries, "incident.close")[0]
    assert audit["reason"] == "结束"
    assert (audit["before"]["status"], audit["after"]["status"]) == ("active", "closed")


# -- audit and events, together --------------------------------------------------------------


async def test_every_change_has_its_audit_entry_and_event_in_order_on_the_timeline(
    api: Api, clock: ManualClock
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    approver = await api.token(LIUPANSHUI, "approver", "info_office")
    mine = await create(api, reporter)
    url = f"{INCIDENTS}/{mine['id']}"
    steps = [
        (reporter, "reports", {"figures": {"deaths": 4}}),
        (approver, "classification", {"level": "II", "reason": "上调"}),
        (reporter, "command", {"action": "establish"}),
        (reporter, "command", {"action": "stand_down"}),
        (approver, "escalation", {"reason": "省政府统一发布"}),
        (approver, "close", {"reason": "结束"}),
    ]
    for headers, action, body in steps:
        clock.advance(minutes=7)
        response = await api.post(f"{url}/{action}", headers, json=body)
        assert response.status_code == 200, (action, response.text)

    entries = await timeline(api, reporter, mine["id"])
    seqs = [e["seq"] for e in events_of(entries)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert [a["action"] for a in audits_of(entries)] == [
        "incident.create",
        "incident.report",
        "incident.classification",
        "incident.command.establish",
        "incident.command.stand_down",
        "incident.escalate",
        "incident.close",
    ]
    by_seq = {e["seq"]: e for e in events_of(entries)}
    # Each entry names the organ whose token acted; each token is one id throughout.
    assert {a["action"]: a["org_id"] for a in audits_of(entries)} == {
        "incident.create": f"gov-{PANZHOU}",
        "incident.report": f"gov-{PANZHOU}",
        "incident.classification": f"gov-{LIUPANSHUI}",
        "incident.command.establish": f"gov-{PANZHOU}",
        "incident.command.stand_down": f"gov-{PANZHOU}",
        "incident.escalate": f"gov-{LIUPANSHUI}",
        "incident.close": f"gov-{LIUPANSHUI}",
    }
    tokens = {(a["org_id"], a["token_id"]) for a in audits_of(entries)}
    assert len(tokens) == len({token for _, token in tokens}) == 2
    for audit in audits_of(entries):
        # Written with the event that announced it: same transaction, same moment.
        event = by_seq[audit["seq"]]
        assert event["type"] in ("incident.reported", "incident.updated")
        assert event["at"] == audit["at"]
        assert audit["after"]["level"] == event["data"]["level"]
        assert audit["token_id"].startswith("tok_")
        if audit["action"] == "incident.create":
            assert audit["before"] is None
        else:
            assert audit["before"]["id"] == mine["id"]
    assert audits_of(entries, "incident.classification")[0]["roles"] == ["approver", "info_office"]
    assert audits_of(entries, "incident.report")[0]["org_id"] == f"gov-{PANZHOU}"

    # The rows themselves, not just the view: each audit entry points at its event.
    async with api.db.read() as session:
        audits = (
            await session.execute(select(AuditEntry).where(AuditEntry.incident_id == mine["id"]))
        ).scalars()
        events = {
            e.seq: e
            for e in (
                await session.execute(select(Event).where(Event.incident_id == mine["id"]))
            ).scalars()
        }
        for audit_row in audits:
            assert audit_row.event_seq in events
            assert events[audit_row.event_seq].at == audit_row.at


async def test_a_refused_change_writes_neither_state_nor_event_nor_audit(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    mine = await create(api, reporter)
    before = await stored_counts(api.db)
    stand_down = await api.post(
        f"{INCIDENTS}/{mine['id']}/command", reporter, json={"action": "stand_down"}
    )
    assert_problem(stand_down, 409)
    bad_report = await api.post(
        f"{INCIDENTS}/{mine['id']}/reports", reporter, json={"figures": {"dead": 3}}
    )
    assert_problem(bad_report, 422, "figures.dead")
    assert await stored_counts(api.db) == before
    assert (await api.get(f"{INCIDENTS}/{mine['id']}", reporter)).json() == mine
