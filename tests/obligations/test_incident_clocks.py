"""The incident clocks of RULES §3 end to end: report through the API, move the clock, fire.

Every due time and every firing moment is asserted to the second. The responsible organ
of a level II accident without an on-site command is the provincial emergency management
department (Art. 22), whose breaches go to the provincial information office.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.rules import obligations as rules
from app.scheduler.firing import fire_due
from app.workflows import obligations as flow
from tests.conftest import T0, Api
from tests.obligations.conftest import (
    LIUPANSHUI,
    PANZHOU,
    Scenario,
    accountability,
    events,
    obligation_row,
    reminders,
    timers,
    utc,
    z,
)

DEPT = "dept-emergency_management"


async def test_a_major_accident_is_reminded_at_60_30_and_10_minutes_and_breached_at_its_due_time(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    assert incident["level"] == "II"
    assert incident["responsible_org"]["id"] == DEPT
    first = await scenario.obligation(incident["id"], "first_release")
    conference = await scenario.obligation(incident["id"], "press_conference")
    # Art. 23: 3 h after the event (01:30Z) for the release, 24 h for the conference.
    assert first["due_at"] == "2026-11-27T04:30:00Z"
    assert first["seconds_remaining"] == 2 * 3600 + 30 * 60
    assert first["article"] == "Art. 23"
    assert conference["due_at"] == "2026-11-28T01:30:00Z"

    assert (await scenario.at(utc("2026-11-27T03:29:59Z"))).fired == 0
    assert (await scenario.at(utc("2026-11-27T03:30:00Z"))).reminders == 1
    await scenario.at(utc("2026-11-27T04:00:00Z"))
    await scenario.at(utc("2026-11-27T04:20:00Z"))
    assert (await scenario.at(utc("2026-11-27T04:29:59Z"))).fired == 0
    assert await reminders(scenario.db, first["id"]) == [
        ("60m", utc("2026-11-27T03:30:00Z")),
        ("30m", utc("2026-11-27T04:00:00Z")),
        ("10m", utc("2026-11-27T04:20:00Z")),
    ]
    reminder = (await events(scenario.db, "obligation.reminder", id=first["id"]))[0]
    assert reminder.org_id == DEPT
    assert reminder.data["to_org_id"] == DEPT
    assert reminder.data["late"] is False

    report = await scenario.at(utc("2026-11-27T04:30:00Z"))
    assert (report.breaches, report.escalations, report.accountability) == (1, 1, 1)
    first = await scenario.obligation(incident["id"], "first_release")
    assert first["status"] == "breached"
    assert first["breached_at"] == "2026-11-27T04:30:00Z"
    assert first["escalated_to_org_id"] == "io-520000"
    (breached,) = await events(scenario.db, "obligation.breached", id=first["id"])
    assert breached.at == utc("2026-11-27T04:30:00Z")
    assert breached.data["late"] is False
    (escalation,) = await events(scenario.db, "escalation.raised", obligation_id=first["id"])
    assert escalation.org_id == "io-520000"
    assert escalation.data["from_org_id"] == DEPT
    assert escalation.data["article"] == "Art. 23"
    (record,) = await accountability(scenario.db, first["id"])
    assert (record.article, record.obligation_article) == ("Art. 39(1)", "Art. 23")
    assert (record.org_id, record.kind) == (DEPT, "first_release")
    assert record.due_at == record.breached_at == utc("2026-11-27T04:30:00Z")
    assert record.met_at is None
    # The conference clock still runs, untouched.
    assert (await scenario.obligation(incident["id"], "press_conference"))["status"] == "pending"

    # Firing again, at once or much later, never repeats a reminder or the breach.
    assert (await fire_due(scenario.db, scenario.clock)).fired == 0
    await scenario.at(utc("2026-11-27T05:00:00Z"))
    assert len(await events(scenario.db, "obligation.breached", id=first["id"])) == 1
    assert len(await reminders(scenario.db, first["id"])) == 3


@pytest.mark.parametrize(
    ("delay", "due"),
    [
        # Reported 1 h 59 min 59 s after the event: the 3 h rule still governs.
        (timedelta(hours=2) - timedelta(seconds=1), "2026-11-27T03:00:01Z"),
        # Exactly at the crossover both rules give the same moment.
        (timedelta(hours=2), "2026-11-27T03:00:00Z"),
        # One second past it: due 1 h after the report, a second after the 3 h moment.
        (timedelta(hours=2, seconds=1), "2026-11-27T03:00:00Z"),
        # Reported 10 h late: 1 h after the report.
        (timedelta(hours=10), "2026-11-27T03:00:00Z"),
    ],
)
async def test_the_late_report_rule_takes_over_two_hours_after_the_event(
    scenario: Scenario, delay: timedelta, due: str
) -> None:
    # The report comes in now (T0 = 02:00Z); the event happened `delay` earlier.
    incident = await scenario.report(occurred_at=T0 - delay, figures={"deaths": 10})
    first = await scenario.obligation(incident["id"], "first_release")
    expected = max(T0 - delay + timedelta(hours=3), T0 + timedelta(hours=1))
    assert first["due_at"] == due == expected.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_report_two_hours_and_a_second_late_gets_its_60_minute_reminder_at_once(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(
        occurred_at=T0 - timedelta(hours=2, seconds=1), figures={"deaths": 10}
    )
    first = await scenario.obligation(incident["id"], "first_release")
    assert first["due_at"] == "2026-11-27T03:00:00Z"
    await scenario.at(T0)
    assert await reminders(scenario.db, first["id"]) == [("60m", T0)]
    # On the other side of the crossover the 3 h rule governs: due a second after 03:00,
    # and each reminder falls a second after its round minute.
    other = await scenario.report(
        occurred_at=T0 - timedelta(hours=2) + timedelta(seconds=1), figures={"deaths": 10}
    )
    other_first = await scenario.obligation(other["id"], "first_release")
    assert other_first["due_at"] == "2026-11-27T03:00:01Z"
    await scenario.at(T0)
    assert await reminders(scenario.db, other_first["id"]) == []
    for moment in ("02:00:01", "02:30:01", "02:50:01"):
        await scenario.at(utc(f"2026-11-27T{moment}Z"))
    assert await reminders(scenario.db, other_first["id"]) == [
        ("60m", utc("2026-11-27T02:00:01Z")),
        ("30m", utc("2026-11-27T02:30:01Z")),
        ("10m", utc("2026-11-27T02:50:01Z")),
    ]


async def test_an_accident_raised_from_iii_to_ii_five_hours_in_is_due_an_hour_after_the_upgrade(
    scenario: Scenario,
) -> None:
    occurred = T0 - timedelta(hours=5)
    incident = await scenario.report(
        occurred_at=occurred, reported_at=occurred + timedelta(minutes=20), figures={"deaths": 3}
    )
    assert incident["level"] == "III"
    assert incident["responsible_org"]["id"] == "gov-520200"
    assert incident["obligations"] == []

    # The situation report at T0 (07:00 local) brings the dead to 10: level II.
    raised = await scenario.post(
        f"/api/v1/incidents/{incident['id']}/reports",
        {"figures": {"deaths": 10}, "note": "seven more bodies recovered"},
    )
    assert raised["level"] == "II"
    assert raised["level_known_at"]["II"] == "2026-11-27T02:00:00Z"
    first = await scenario.obligation(incident["id"], "first_release")
    conference = await scenario.obligation(incident["id"], "press_conference")
    # 3 h from the event passed 2 h ago; the late-report hour counts from the upgrade.
    assert first["due_at"] == "2026-11-27T03:00:00Z"
    assert first["org_id"] == DEPT
    # The conference still has its 24 h from the event.
    assert conference["due_at"] == "2026-11-27T21:00:00Z"

    await scenario.at(T0)
    await scenario.at(utc("2026-11-27T02:30:00Z"))
    await scenario.at(utc("2026-11-27T02:50:00Z"))
    assert [name for name, _ in await reminders(scenario.db, first["id"])] == ["60m", "30m", "10m"]
    await scenario.at(utc("2026-11-27T03:00:00Z"))
    assert (await scenario.obligation(incident["id"], "first_release"))["status"] == "breached"
    (escalation,) = await events(scenario.db, "escalation.raised", obligation_id=first["id"])
    assert escalation.data["to_org_id"] == "io-520000"


async def test_an_on_site_command_takes_over_the_open_clocks_with_their_due_times(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    before = {o["kind"]: o for o in incident["obligations"]}
    await scenario.at(utc("2026-11-27T03:30:00Z"))  # the 60 min reminder, to the department

    after = await scenario.post(
        f"/api/v1/incidents/{incident['id']}/command", {"action": "establish"}
    )
    command_id = after["on_site_command"]["org_id"]
    assert after["responsible_org"]["id"] == command_id
    moved = {o["kind"]: o for o in after["obligations"]}
    for kind in ("first_release", "press_conference"):
        assert moved[kind]["org_id"] == command_id
        assert moved[kind]["id"] == before[kind]["id"]
        assert moved[kind]["due_at"] == before[kind]["due_at"]

    await scenario.at(utc("2026-11-27T04:00:00Z"))
    first_id = moved["first_release"]["id"]
    sent = await events(scenario.db, "obligation.reminder", id=first_id)
    assert [(e.data["reminder"], e.org_id) for e in sent] == [("60m", DEPT), ("30m", command_id)]

    await scenario.at(utc("2026-11-27T04:30:00Z"))
    (breached,) = await events(scenario.db, "obligation.breached", id=first_id)
    assert breached.org_id == command_id
    # The command sits in Panzhou (a county): one level up is Liupanshui's office.
    (escalation,) = await events(scenario.db, "escalation.raised", obligation_id=first_id)
    assert escalation.data["to_org_id"] == f"io-{LIUPANSHUI}"
    (record,) = await accountability(scenario.db, first_id)
    assert record.org_id == command_id


async def test_an_authorised_downgrade_below_ii_cancels_the_first_release_with_a_reason(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    first = await scenario.obligation(incident["id"], "first_release")
    scenario.clock.set(utc("2026-11-27T03:00:00Z"))
    lowered = await scenario.post(
        f"/api/v1/incidents/{incident['id']}/classification",
        {"level": "III", "reason": "three of the dead were counted twice"},
        "520000",
        "approver",
    )
    assert lowered["level"] == "III"
    cancelled = {o["kind"]: o for o in lowered["obligations"] if o["status"] == "cancelled"}
    assert set(cancelled) >= {"first_release", "press_conference"}
    assert cancelled["first_release"]["cancelled_at"] == "2026-11-27T03:00:00Z"
    assert "level III" in cancelled["first_release"]["cancel_reason"]
    (event,) = await events(scenario.db, "obligation.cancelled", id=first["id"])
    assert "level III" in event.data["reason"]

    # Nothing of a cancelled clock fires: not the reminders, not the breach.
    report = await scenario.at(utc("2026-11-28T12:00:00Z"))
    assert report.fired == 0
    assert await reminders(scenario.db, first["id"]) == []
    assert await events(scenario.db, "obligation.breached", id=first["id"]) == []


async def test_a_missed_follow_up_is_flagged_but_not_escalated_or_held_to_account(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    scenario.clock.set(utc("2026-11-27T03:00:00Z"))
    await scenario.post(
        f"/api/v1/incidents/{incident['id']}/reports",
        {"figures": {"deaths": 12}, "note": "two more dead"},
    )
    follow = await scenario.obligation(incident["id"], "follow_up")
    # A change in casualties: the next follow-up within 2 h of it.
    assert follow["due_at"] == "2026-11-27T05:00:00Z"
    await scenario.at(utc("2026-11-27T05:00:00Z"))
    row = await obligation_row(scenario.db, follow["id"])
    assert row.status == "breached"
    assert row.escalated_to_org_id is None
    assert len(await events(scenario.db, "obligation.breached", id=follow["id"])) == 1
    assert await events(scenario.db, "escalation.raised", obligation_id=follow["id"]) == []
    assert await accountability(scenario.db, follow["id"]) == []


@pytest.mark.parametrize(
    ("level", "responsible", "office_above"),
    [
        # Art. 25: a general incident is the county's; its breach goes to the prefecture.
        ("IV", f"gov-{PANZHOU}", f"io-{LIUPANSHUI}"),
        # A larger one is the prefecture's; its breach goes to the province.
        ("III", f"gov-{LIUPANSHUI}", "io-520000"),
    ],
)
async def test_a_major_public_opinion_is_answered_within_the_hour_or_escalated_one_level_up(
    scenario: Scenario, level: str, responsible: str, office_above: str
) -> None:
    incident = await scenario.report(
        category="social_security",
        subtype="mass_incident",
        title="Crowd at the county office",
        occurred_at=T0 - timedelta(minutes=40),
        asserted_level=level,
        asserted_basis="assessed by the public security bureau",
        public_opinion="major",
    )
    assert incident["responsible_org"]["id"] == responsible
    opinion = await scenario.obligation(incident["id"], "opinion_response")
    assert opinion["article"] == "Art. 25"
    assert opinion["due_at"] == "2026-11-27T03:00:00Z"  # 1 h after it was marked major (T0)
    assert [(t.name, z(t.fire_at)) for t in await timers(scenario.db, opinion["id"])] == [
        ("60m", "2026-11-27T02:00:00Z"),
        ("30m", "2026-11-27T02:30:00Z"),
        ("10m", "2026-11-27T02:50:00Z"),
        ("breach", "2026-11-27T03:00:00Z"),
    ]
    assert (await scenario.at(utc("2026-11-27T02:59:59Z"))).breaches == 0
    await scenario.at(utc("2026-11-27T03:00:00Z"))
    assert [n for n, _ in await reminders(scenario.db, opinion["id"])] == ["60m", "30m", "10m"]
    (escalation,) = await events(scenario.db, "escalation.raised", obligation_id=opinion["id"])
    assert escalation.data["to_org_id"] == office_above
    assert escalation.data["from_org_id"] == responsible
    (record,) = await accountability(scenario.db, opinion["id"])
    assert record.obligation_article == "Art. 25"


async def test_a_major_accident_closed_on_30_september_2026_owes_its_summary_by_13_october(
    scenario: Scenario,
) -> None:
    # Wed 30 Sep 2026, 10:00 in Guiyang; National Day runs 1-7 Oct, 10 Oct is worked.
    scenario.clock.set(utc("2026-09-30T02:00:00Z"))
    incident = await scenario.report(
        occurred_at=utc("2026-09-30T01:00:00Z"), figures={"deaths": 10}
    )
    scenario.clock.set(utc("2026-09-30T03:00:00Z"))
    await scenario.post(f"/api/v1/incidents/{incident['id']}/close", {"reason": "rescue completed"})
    summary = await scenario.obligation(incident["id"], "disaster_summary")
    assert summary["article"] == "Art. 24"
    # 8, 9, 10 (adjusted Saturday), 12, 13 October: due at the end of the 13th, local time.
    assert summary["due_at"] == "2026-10-13T16:00:00Z"
    assert summary["calendar_estimated"] is False

    await scenario.at(utc("2026-10-12T15:59:59Z"))
    assert await reminders(scenario.db, summary["id"]) == []
    # One working day before: the end of Monday 12 October.
    await scenario.at(utc("2026-10-12T16:00:00Z"))
    assert await reminders(scenario.db, summary["id"]) == [("1wd", utc("2026-10-12T16:00:00Z"))]
    await scenario.at(utc("2026-10-13T16:00:00Z"))
    row = await obligation_row(scenario.db, summary["id"])
    assert (row.status, row.breached_at) == ("breached", utc("2026-10-13T16:00:00Z"))
    (record,) = await accountability(scenario.db, summary["id"])
    assert record.obligation_article == "Art. 24"


async def test_the_obligations_of_an_incident_count_down_in_seconds(scenario: Scenario) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    scenario.clock.set(utc("2026-11-27T04:29:30Z"))
    first = await scenario.obligation(incident["id"], "first_release")
    assert first["seconds_remaining"] == 30
    scenario.clock.set(utc("2026-11-27T04:31:00Z"))
    first = await scenario.obligation(incident["id"], "first_release")
    assert first["seconds_remaining"] == -60


async def test_a_first_release_in_time_meets_its_clock_and_nothing_more_fires(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    first = await scenario.obligation(incident["id"], "first_release")
    await scenario.at(utc("2026-11-27T03:30:00Z"))
    async with scenario.db.write() as session:
        met = await flow.meet_for(
            session,
            "first_release",
            incident_id=incident["id"],
            at=utc("2026-11-27T03:45:00Z"),
            by="rel_first",
        )
    assert [o.id for o in met] == [first["id"]]
    report = await scenario.at(utc("2026-11-27T05:00:00Z"))
    assert report.fired == 0
    first = await scenario.obligation(incident["id"], "first_release")
    assert (first["status"], first["met_at"], first["met_by"]) == (
        "met",
        "2026-11-27T03:45:00Z",
        "rel_first",
    )
    assert [n for n, _ in await reminders(scenario.db, first["id"])] == ["60m"]
    assert await accountability(scenario.db, first["id"]) == []


async def test_a_first_release_after_the_breach_is_recorded_with_its_lateness(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    first = await scenario.obligation(incident["id"], "first_release")
    await scenario.at(utc("2026-11-27T04:30:00Z"))
    async with scenario.db.write() as session:
        await flow.meet_for(
            session,
            "first_release",
            incident_id=incident["id"],
            at=utc("2026-11-27T05:10:00Z"),
            by="rel_late",
        )
    first = await scenario.obligation(incident["id"], "first_release")
    assert (first["status"], first["breached_at"], first["met_at"]) == (
        "met",
        "2026-11-27T04:30:00Z",
        "2026-11-27T05:10:00Z",
    )
    (record,) = await accountability(scenario.db, first["id"])
    assert (record.met_at, record.lateness_seconds) == (utc("2026-11-27T05:10:00Z"), 2400.0)


async def test_the_press_conference_clock_breaches_24_hours_after_the_event(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    conference = await scenario.obligation(incident["id"], "press_conference")
    # Reminded 60, 30 and 10 minutes before 01:30:00 on the 28th, 24 h after the event.
    assert [(t.name, z(t.fire_at)) for t in await timers(scenario.db, conference["id"])] == [
        ("60m", "2026-11-28T00:30:00Z"),
        ("30m", "2026-11-28T01:00:00Z"),
        ("10m", "2026-11-28T01:20:00Z"),
        ("breach", "2026-11-28T01:30:00Z"),
    ]
    await scenario.at(utc("2026-11-28T01:29:59Z"))
    assert await events(scenario.db, "obligation.breached", id=conference["id"]) == []
    assert [n for n, _ in await reminders(scenario.db, conference["id"])] == ["60m", "30m", "10m"]
    await scenario.at(utc("2026-11-28T01:30:00Z"))
    (breached,) = await events(scenario.db, "obligation.breached", id=conference["id"])
    assert breached.at == utc("2026-11-28T01:30:00Z")
    (record,) = await accountability(scenario.db, conference["id"])
    assert (record.kind, record.obligation_article) == ("press_conference", "Art. 23")


async def test_a_published_first_release_meets_its_clock_and_opens_a_follow_up_6_h_on(
    scenario: Scenario,
) -> None:
    occurred = T0 - timedelta(minutes=30)
    incident = await scenario.report(
        occurred_at=occurred, place="Panzhou coal mine", figures={"deaths": 10, "trapped": 4}
    )
    first = await scenario.obligation(incident["id"], "first_release")
    published = utc("2026-11-27T03:00:00Z")
    scenario.clock.set(published)
    # Through the release work flow: drafted, reviewed, approved, published (Art. 15, 27).
    drafter = await scenario.as_(DEPT, "drafter")
    draft = await scenario.post_as(
        f"/api/v1/incidents/{incident['id']}/releases",
        drafter,
        {
            "kind": "first",
            "title": "Flooding at the Panzhou coal mine",
            "body": "Ten miners died; four are trapped. Rescue continues.",
            "channels": ["website"],
            "facts": {
                "time": z(occurred),
                "place": "Panzhou coal mine",
                "site_conditions": "the lower galleries are flooded; rescuers are pumping",
                "casualties": {"deaths": 10, "injured": 0, "missing": 0, "involved": 4},
                "measures": "the provincial department sent a working group",
            },
        },
    )
    release = f"/api/v1/releases/{draft['id']}"
    await scenario.post_as(f"{release}/submit", drafter, None)
    await scenario.post_as(
        f"{release}/review",
        await scenario.as_(DEPT, "reviewer"),
        {"passed": True, "note": "nothing classified"},
    )
    await scenario.post_as(f"{release}/approve", await scenario.as_(DEPT, "approver"), None)
    await scenario.post_as(f"{release}/publish", drafter, None)

    first = await scenario.obligation(incident["id"], "first_release")
    assert (first["status"], first["met_at"], first["met_by"]) == (
        "met",
        "2026-11-27T03:00:00Z",
        draft["id"],
    )
    follow = await scenario.obligation(incident["id"], "follow_up")
    assert follow["due_at"] == "2026-11-27T09:00:00Z"  # 6 h after the publication
    report = await scenario.at(utc("2026-11-27T09:00:00Z"))
    assert report.breaches == 1  # the follow-up, flagged; the release was in time
    assert await events(scenario.db, "obligation.breached", id=first["id"]) == []


async def test_a_follow_up_moved_by_a_new_situation_report_is_announced_with_its_new_due_time(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    reports = f"/api/v1/incidents/{incident['id']}/reports"
    scenario.clock.set(utc("2026-11-27T03:00:00Z"))
    await scenario.post(reports, {"figures": {"deaths": 12}, "note": "two more found"})
    follow = await scenario.obligation(incident["id"], "follow_up")
    assert follow["due_at"] == "2026-11-27T05:00:00Z"  # 2 h after the change

    scenario.clock.set(utc("2026-11-27T04:00:00Z"))
    await scenario.post(reports, {"figures": {"deaths": 13}, "note": "one more found"})
    moved = await scenario.obligation(incident["id"], "follow_up")
    assert (moved["id"], moved["due_at"]) == (follow["id"], "2026-11-27T06:00:00Z")
    # A dashboard counting down to 05:00 hears of the move, with the new time and why.
    [announced] = await events(scenario.db, "obligation.rescheduled", id=follow["id"])
    assert announced.at == utc("2026-11-27T04:00:00Z")
    assert announced.data["due_at"] == "2026-11-27T06:00:00Z"
    assert "2026-11-27T04:00:00Z" in announced.data["reason"]
    # The old timers are spent: at 05:00 the follow-up is still pending, at 06:00 it breaches.
    await scenario.at(utc("2026-11-27T05:00:00Z"))
    assert (await scenario.obligation(incident["id"], "follow_up"))["status"] == "pending"
    await scenario.at(utc("2026-11-27T06:00:00Z"))
    assert (await scenario.obligation(incident["id"], "follow_up"))["status"] == "breached"


async def test_a_level_raised_without_new_casualties_is_followed_up_2_h_after_the_report(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    first_due = (await scenario.obligation(incident["id"], "first_release"))["due_at"]
    # The same dead, but the command now assesses it particularly serious: a change of level.
    scenario.clock.set(utc("2026-11-27T03:00:07Z"))
    raised = await scenario.post(
        f"/api/v1/incidents/{incident['id']}/reports",
        {
            "figures": {"deaths": 10},
            "asserted_level": "I",
            "asserted_basis": "the flooded galleries threaten the whole mine",
        },
    )
    assert raised["level"] == "I"
    follow = await scenario.obligation(incident["id"], "follow_up")
    assert (follow["article"], follow["due_at"]) == ("Art. 23", "2026-11-27T05:00:07Z")
    assert [(t.name, z(t.fire_at)) for t in await timers(scenario.db, follow["id"])] == [
        ("60m", "2026-11-27T04:00:07Z"),
        ("30m", "2026-11-27T04:30:07Z"),
        ("10m", "2026-11-27T04:50:07Z"),
        ("breach", "2026-11-27T05:00:07Z"),
    ]
    # Level I came after II: the first release keeps the clock II gave it.
    assert (await scenario.obligation(incident["id"], "first_release"))["due_at"] == first_due
    await scenario.at(utc("2026-11-27T05:00:06Z"))
    assert await events(scenario.db, "obligation.breached", id=follow["id"]) == []
    await scenario.at(utc("2026-11-27T05:00:07Z"))
    assert len(await events(scenario.db, "obligation.breached", id=follow["id"])) == 1


async def test_a_situation_report_that_changes_nothing_leaves_every_clock_as_it_was(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    before = {o["kind"]: (o["id"], o["due_at"], o["status"]) for o in incident["obligations"]}
    first_id = before["first_release"][0]
    armed = [(t.id, t.name, t.fire_at) for t in await timers(scenario.db, first_id)]
    created = len(await events(scenario.db, "obligation.created"))

    # An hour on, the same figures again: the facts that set the clocks have not moved.
    scenario.clock.set(utc("2026-11-27T03:00:00Z"))
    again = await scenario.post(
        f"/api/v1/incidents/{incident['id']}/reports",
        {"figures": {"deaths": 10}, "note": "no change at the site"},
    )
    after = {o["kind"]: (o["id"], o["due_at"], o["status"]) for o in again["obligations"]}
    assert after == before
    assert before["first_release"][1:] == ("2026-11-27T04:30:00Z", "pending")
    assert [(t.id, t.name, t.fire_at) for t in await timers(scenario.db, first_id)] == armed
    assert all(t.fired_at is None for t in await timers(scenario.db, first_id))
    assert len(await events(scenario.db, "obligation.created")) == created
    assert await events(scenario.db, "obligation.cancelled") == []


async def test_configured_windows_set_the_due_times_and_reminders_of_new_clocks(
    scenario: Scenario, settings: Settings
) -> None:
    # FABU_OBLIGATION_WINDOWS: a 2 h first release, a single reminder 30 min before.
    configured = settings.model_copy(
        update={"obligation_windows": {"first_release": 7200, "reminders_hours": [1800]}}
    )
    app = create_app(configured, clock=scenario.clock, db=scenario.db, start_services=False)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as client:
            custom = Scenario(Api(client, scenario.db, scenario.clock))
            incident = await custom.report(
                occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10}
            )
            first = await custom.obligation(incident["id"], "first_release")
    finally:
        flow.windows = rules.DEFAULT_WINDOWS  # the windows are process-wide
    # 2 h after the event at 01:30Z instead of 3 h.
    assert first["due_at"] == "2026-11-27T03:30:00Z"
    assert [(t.name, z(t.fire_at)) for t in await timers(scenario.db, first["id"])] == [
        ("30m", "2026-11-27T03:00:00Z"),
        ("breach", "2026-11-27T03:30:00Z"),
    ]
    assert (await scenario.at(utc("2026-11-27T03:29:59Z"))).reminders == 1
    assert (await scenario.at(utc("2026-11-27T03:30:00Z"))).breaches == 1
