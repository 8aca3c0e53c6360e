"""The clocks that are not about an incident (RULES §3 rows 6-10), opened by the workflow
functions other parts of the service call, then fired by the scheduler's core."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.models.conferences import PressConference
from app.workflows import obligations as flow
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
)

DEPARTMENTS = {
    "dept-emergency_management",
    "dept-health_commission",
    "dept-natural_resources",
    "dept-public_security",
}


async def _write(db: Database, func, *args, **kwargs):  # type: ignore[no-untyped-def]
    async with db.write() as session:
        return await func(session, *args, **kwargs)


async def test_regular_information_reviewed_on_30_september_is_due_on_13_october(
    scenario: Scenario,
) -> None:
    # Reviewed Wed 30 Sep 2026 at 10:00 in Guiyang.
    reviewed = utc("2026-09-30T02:00:00Z")
    scenario.clock.set(reviewed)
    obligation = await _write(
        scenario.db,
        flow.open_regular_info,
        f"gov-{PANZHOU}",
        reviewed,
        subject_id="doc-2026-117",
        at=reviewed,
    )
    assert (obligation.kind, obligation.article) == ("regular_info", "Art. 20")
    assert obligation.due_at == utc("2026-10-13T16:00:00Z")
    assert obligation.calendar_estimated is False
    # Opening it again with the same facts is a no-op.
    again = await _write(
        scenario.db,
        flow.open_regular_info,
        f"gov-{PANZHOU}",
        reviewed,
        subject_id="doc-2026-117",
        at=reviewed,
    )
    assert again.id == obligation.id

    await scenario.at(utc("2026-10-12T16:00:00Z"))
    assert await reminders(scenario.db, obligation.id) == [("1wd", utc("2026-10-12T16:00:00Z"))]
    await scenario.at(utc("2026-10-13T16:00:00Z"))
    # A county government's breach goes to its prefecture's information office.
    (escalation,) = await events(scenario.db, "escalation.raised", obligation_id=obligation.id)
    assert escalation.data["to_org_id"] == f"io-{LIUPANSHUI}"
    (record,) = await accountability(scenario.db, obligation.id)
    assert (record.obligation_article, record.due_at) == ("Art. 20", obligation.due_at)


async def test_a_media_supervision_matter_registered_on_30_september_is_due_on_13_october(
    scenario: Scenario,
) -> None:
    registered = utc("2026-09-30T02:00:00Z")
    scenario.clock.set(registered)
    obligation = await _write(
        scenario.db,
        flow.open_media_supervision,
        f"gov-{LIUPANSHUI}",
        registered,
        subject_id="case-88",
        at=registered,
    )
    assert obligation.due_at == utc("2026-10-13T16:00:00Z")
    # One working day before: the end of Mon 12 Oct.
    assert [(t.name, t.fire_at) for t in await timers(scenario.db, obligation.id)] == [
        ("1wd", utc("2026-10-12T16:00:00Z")),
        ("breach", utc("2026-10-13T16:00:00Z")),
    ]
    await scenario.at(utc("2026-10-13T16:00:00Z"))
    # A prefecture's breach goes to the provincial information office.
    (escalation,) = await events(scenario.db, "escalation.raised", obligation_id=obligation.id)
    assert escalation.data["to_org_id"] == "io-520000"


async def test_a_department_conference_on_12_october_is_filed_by_the_end_of_29_september(
    scenario: Scenario,
) -> None:
    now = utc("2026-09-21T02:00:00Z")
    scenario.clock.set(now)
    conference_at = utc("2026-10-12T02:00:00Z")  # Mon 12 Oct, 10:00 local
    obligation = await _write(
        scenario.db,
        flow.open_conference_filing,
        conference_id="pc-1",
        org_id="dept-health_commission",
        conference_at=conference_at,
        at=now,
    )
    # 10 Oct (adjusted Saturday), 9, 8 Oct, then 30, 29 Sep: the 5 working days before.
    assert obligation.due_at == utc("2026-09-29T16:00:00Z")
    assert obligation.article == "Art. 31(2)"
    await scenario.at(utc("2026-09-28T16:00:00Z"))
    assert await reminders(scenario.db, obligation.id) == [("1wd", utc("2026-09-28T16:00:00Z"))]

    # Filed late, on 30 September: met, and the lateness goes on the Art. 39 record.
    await scenario.at(utc("2026-09-29T16:00:00Z"))
    filed_at = utc("2026-09-30T01:00:00Z")
    met = await _write(
        scenario.db,
        flow.meet_for,
        "conference_filing",
        subject_type="press_conference",
        subject_id="pc-1",
        at=filed_at,
        by="filing-1",
    )
    assert [o.id for o in met] == [obligation.id]
    row = await obligation_row(scenario.db, obligation.id)
    assert (row.status, row.met_at, row.breached_at) == (
        "met",
        filed_at,
        utc("2026-09-29T16:00:00Z"),
    )
    (record,) = await accountability(scenario.db, obligation.id)
    assert record.met_at == filed_at
    assert record.lateness_seconds == 9 * 3600
    (met_event,) = await events(scenario.db, "obligation.met", id=obligation.id)
    assert met_event.data["late"] is True


async def test_a_moved_conference_moves_its_filing_deadline(scenario: Scenario) -> None:
    now = utc("2026-09-21T02:00:00Z")
    scenario.clock.set(now)
    first = await _write(
        scenario.db,
        flow.open_conference_filing,
        conference_id="pc-2",
        org_id=f"gov-{LIUPANSHUI}",
        conference_at=utc("2026-10-12T02:00:00Z"),
        at=now,
        by_prefecture=True,
    )
    assert first.article == "Art. 31(3)"
    moved = await _write(
        scenario.db,
        flow.open_conference_filing,
        conference_id="pc-2",
        org_id=f"gov-{LIUPANSHUI}",
        conference_at=utc("2026-10-19T02:00:00Z"),  # a week later
        at=now,
        by_prefecture=True,
    )
    assert moved.id == first.id
    # Mon 19 Oct: 16, 15, 14, 13, 12 Oct.
    assert moved.due_at == utc("2026-10-12T16:00:00Z")
    # The old deadline passes without a breach.
    assert (await scenario.at(utc("2026-09-30T00:00:00Z"))).fired == 0
    assert (await obligation_row(scenario.db, first.id)).status == "pending"


@pytest.mark.parametrize(
    ("changed", "reminded", "due"),
    [
        # 28 Feb 2026 is a worked Saturday; the working day before it is Fri 27 Feb.
        ("2026-01-31T02:00:00Z", "2026-02-27T16:00:00Z", "2026-02-28T16:00:00Z"),
        ("2028-01-31T02:00:00Z", "2028-02-28T16:00:00Z", "2028-02-29T16:00:00Z"),  # a leap year
    ],
)
async def test_a_spokesperson_changed_on_31_january_is_reported_by_the_end_of_february(
    scenario: Scenario, changed: str, reminded: str, due: str
) -> None:
    scenario.clock.set(utc(changed))
    obligation = await _write(
        scenario.db,
        flow.open_spokesperson_change,
        "dept-public_security",
        utc(changed),
        subject_id="sp-7",
        at=utc(changed),
    )
    assert (obligation.kind, obligation.article) == ("spokesperson_change", "Art. 9")
    assert obligation.due_at == utc(due)
    assert [(t.name, t.fire_at) for t in await timers(scenario.db, obligation.id)] == [
        ("1wd", utc(reminded)),
        ("breach", utc(due)),
    ]
    report = await scenario.at(utc(due))
    assert (report.reminders, report.breaches) == (1, 1)


async def test_each_routine_department_owes_a_conference_every_quarter(
    scenario: Scenario,
) -> None:
    now = utc("2026-11-27T02:00:00Z")
    opened = await _write(scenario.db, flow.open_routine_conferences, now)
    assert {o.org_id for o in opened} == DEPARTMENTS
    assert {o.due_at for o in opened} == {utc("2026-12-31T16:00:00Z")}
    assert {o.subject_id for o in opened} == {"2026Q4"}
    assert {o.article for o in opened} == {"Art. 29"}
    # Idempotent within the quarter.
    assert await _write(scenario.db, flow.open_routine_conferences, now) == []
    # The health commission holds one on 10 December: that quarter is met.
    met = await _write(
        scenario.db,
        flow.meet_for,
        "routine_conference",
        org_id="dept-health_commission",
        at=utc("2026-12-10T02:00:00Z"),
        by="pc-9",
    )
    assert len(met) == 1
    # Reminded at the end of Wed 30 Dec, the last working day before the quarter's end.
    other = next(o for o in opened if o.org_id == "dept-public_security")
    assert [(t.name, t.fire_at) for t in await timers(scenario.db, other.id)] == [
        ("1wd", utc("2026-12-30T16:00:00Z")),
        ("breach", utc("2026-12-31T16:00:00Z")),
    ]
    assert (await scenario.at(utc("2026-12-31T15:59:59Z"))).breaches == 0
    # The others breach at the end of the quarter; the commission does not.
    report = await scenario.at(utc("2026-12-31T16:00:00Z"))
    assert report.breaches == 3
    # A new quarter opens new ones; a conference in January does not meet December's.
    q1 = await _write(scenario.db, flow.open_routine_conferences, utc("2027-01-04T02:00:00Z"))
    assert {o.subject_id for o in q1} == {"2027Q1"}
    assert {o.due_at for o in q1} == {utc("2027-03-31T16:00:00Z")}
    january = await _write(
        scenario.db,
        flow.meet_for,
        "routine_conference",
        org_id="dept-public_security",
        at=utc("2027-01-05T02:00:00Z"),
        by="pc-10",
    )
    assert [o.subject_id for o in january] == ["2027Q1"]


async def test_a_conference_held_before_the_quarter_was_opened_still_meets_it(
    scenario: Scenario,
) -> None:
    async def held(session: AsyncSession, conference_id: str, host: str, at: datetime) -> None:
        session.add(
            PressConference(
                id=conference_id,
                host_org_id=host,
                division_code="520000",
                title="例行新闻发布会",
                venue="省政府新闻发布厅",
                scheduled_at=at,
                status="held",
                held_at=at,
                created_at=at,
                created_by_org=host,
            )
        )

    # 30 Sep 23:00 in Shanghai is still the third quarter; 1 Oct 09:00 is the fourth.
    await _write(scenario.db, held, "pc-q3", "dept-natural_resources", utc("2026-09-30T15:00:00Z"))
    await _write(scenario.db, held, "pc-q4", "dept-health_commission", utc("2026-10-01T01:00:00Z"))
    # The scheduler was down on the first day of the quarter: it opens the obligations late.
    opened = await _write(scenario.db, flow.open_routine_conferences, utc("2026-10-02T02:00:00Z"))
    by_org = {o.org_id: o for o in opened}
    assert set(by_org) == DEPARTMENTS
    commission = by_org["dept-health_commission"]
    assert (commission.status, commission.met_by) == ("met", "pc-q4")
    assert commission.met_at == utc("2026-10-01T01:00:00Z")
    assert by_org["dept-natural_resources"].status == "pending"  # its conference was in Q3
    report = await scenario.at(utc("2026-12-31T16:00:00Z"))
    assert report.breaches == 3


def _first_uncovered_year() -> int:
    """The first year the installed chinesecalendar has no data for (2027 with 1.11)."""
    year = date.today().year
    while True:
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return year
        year += 1


def _first_monday_of_march(year: int) -> date:
    day = date(year, 3, 1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


async def test_a_year_the_official_calendar_lacks_is_counted_monday_to_friday_and_flagged(
    scenario: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    # Whatever year the installed package stops at, the next one is guessed, never refused.
    monday = _first_monday_of_march(_first_uncovered_year())
    reviewed = datetime.combine(monday, time(2), tzinfo=UTC)  # 10:00 in Guiyang
    caplog.set_level(logging.WARNING, logger="fabu.obligations")
    obligation = await _write(
        scenario.db,
        flow.open_regular_info,
        f"gov-{PANZHOU}",
        reviewed,
        subject_id="doc-uncovered-1",
        at=reviewed,
    )
    assert obligation.calendar_estimated is True
    # Tue, Wed, Thu, Fri, then the next Monday: due at the end of it, 16:00 UTC.
    next_monday = monday + timedelta(days=7)
    assert obligation.due_at == datetime.combine(next_monday, time(16), tzinfo=UTC)
    assert any("estimated calendar" in r.getMessage() for r in caplog.records)
    r = await scenario.api.get(
        f"/api/v1/obligations/{obligation.id}", await scenario.as_("520000", "viewer")
    )
    assert r.json()["calendar_estimated"] is True


async def test_meeting_an_obligation_on_time_spends_its_timers(scenario: Scenario) -> None:
    now = datetime(2026, 11, 27, 2, tzinfo=UTC)
    obligation = await _write(
        scenario.db,
        flow.open_media_supervision,
        "dept-natural_resources",
        now,
        subject_id="case-1",
        at=now,
    )
    met = await _write(
        scenario.db,
        flow.meet_for,
        "media_supervision",
        subject_type="media_supervision",
        subject_id="case-1",
        at=utc("2026-12-01T02:00:00Z"),
        by="rel-1",
    )
    assert [o.status for o in met] == ["met"]
    assert (await scenario.at(utc("2027-01-01T00:00:00Z"))).fired == 0
    assert await accountability(scenario.db, obligation.id) == []
    # Meeting twice changes nothing.
    again = await _write(
        scenario.db,
        flow.meet_for,
        "media_supervision",
        subject_id="case-1",
        at=utc("2026-12-02T02:00:00Z"),
        by="rel-2",
    )
    assert again == []
