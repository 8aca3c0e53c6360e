"""The clocks of the Measures (RULES.md §3), as scenarios with exact due times."""

from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rules.levels import Category, Level
from app.rules.obligations import (
    ARTICLES,
    DEFAULT_WINDOWS,
    IncidentClockFacts,
    ObligationKind,
    ObligationSpec,
    Scale,
    Windows,
    conference_filing_due,
    escalates_to_accountability,
    follow_up_due,
    incident_obligations,
    known_major_at,
    media_supervision_due,
    regular_info_due,
    reminder_times,
    routine_conference_due,
    spokesperson_change_due,
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)

# A mine accident at 10:00 in Guiyang on Tue 14 Jul 2026.
OCCURRED = utc(2026, 7, 14, 2, 0, 0)


def facts(
    *,
    category: Category = Category.accident,
    level: Level = Level.II,
    known_at: dict[Level, datetime] | None = None,
    public_opinion_major_at: datetime | None = None,
    closed_at: datetime | None = None,
    occurred_at: datetime = OCCURRED,
) -> IncidentClockFacts:
    return IncidentClockFacts(
        category=category,
        level=level,
        occurred_at=occurred_at,
        known_at={level: occurred_at + 30 * M} if known_at is None else known_at,
        public_opinion_major_at=public_opinion_major_at,
        closed_at=closed_at,
    )


def by_kind(specs: list[ObligationSpec]) -> dict[ObligationKind, ObligationSpec]:
    assert len({s.kind for s in specs}) == len(specs)
    return {s.kind: s for s in specs}


def _covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


needs_uncovered_2027 = pytest.mark.skipif(
    _covers(2027), reason="installed chinesecalendar already covers 2027"
)


# --- Art. 23: first release and press conference -------------------------------------------


def test_a_level_ii_accident_reported_in_time_owes_release_3_h_and_conference_24_h() -> None:
    specs = incident_obligations(facts(known_at={Level.II: OCCURRED + 30 * M}))
    assert specs == [
        ObligationSpec(
            kind=ObligationKind.first_release,
            due_at=utc(2026, 7, 14, 5, 0, 0),
            article="Art. 23",
            scale=Scale.hours,
            reason="due 3 h after the event at 2026-07-14T02:00:00Z",
        ),
        ObligationSpec(
            kind=ObligationKind.press_conference,
            due_at=utc(2026, 7, 15, 2, 0, 0),
            article="Art. 23",
            scale=Scale.hours,
            reason="due 24 h after the event at 2026-07-14T02:00:00Z",
        ),
    ]


@pytest.mark.parametrize(
    ("reported_after", "first_release_due"),
    [
        (1 * H + 59 * M + 59 * S, utc(2026, 7, 14, 5, 0, 0)),  # in time: 3 h from the event
        (2 * H, utc(2026, 7, 14, 5, 0, 0)),  # the crossover: both rules give 05:00:00
        (2 * H + 1 * S, utc(2026, 7, 14, 5, 0, 1)),  # late by a second: 1 h from the report
        (4 * H, utc(2026, 7, 14, 7, 0, 0)),  # late: 1 h from the report
    ],
)
def test_the_late_report_rule_takes_over_only_past_2_h_after_the_event(
    reported_after: timedelta, first_release_due: datetime
) -> None:
    specs = by_kind(incident_obligations(facts(known_at={Level.II: OCCURRED + reported_after})))
    assert specs[ObligationKind.first_release].due_at == first_release_due


@pytest.mark.parametrize(
    ("reported_after", "conference_due"),
    [
        (23 * H - 1 * S, utc(2026, 7, 15, 2, 0, 0)),  # in time: 24 h from the event
        (23 * H, utc(2026, 7, 15, 2, 0, 0)),  # the crossover: both rules give 02:00:00
        (23 * H + 1 * S, utc(2026, 7, 15, 2, 0, 1)),  # late by a second: 1 h from the report
    ],
)
def test_the_conference_late_report_rule_takes_over_only_past_23_h_after_the_event(
    reported_after: timedelta, conference_due: datetime
) -> None:
    specs = by_kind(incident_obligations(facts(known_at={Level.II: OCCURRED + reported_after})))
    assert specs[ObligationKind.press_conference].due_at == conference_due


def test_a_conference_known_late_says_so_in_its_reason() -> None:
    specs = by_kind(incident_obligations(facts(known_at={Level.II: OCCURRED + 23 * H + 1 * S})))
    assert specs[ObligationKind.press_conference].reason == (
        "level II or above known only at 2026-07-15T01:00:01Z, due 1 h after that"
    )


def test_a_late_report_says_so_in_its_reason() -> None:
    specs = by_kind(incident_obligations(facts(known_at={Level.II: OCCURRED + 4 * H})))
    assert specs[ObligationKind.first_release].reason == (
        "reported late: level II or above known at 2026-07-14T06:00:00Z, due 1 h after that"
    )
    on_time = by_kind(incident_obligations(facts(known_at={Level.II: OCCURRED + 2 * H})))
    assert on_time[ObligationKind.first_release].reason.startswith("due 3 h after the event")


def test_an_accident_raised_from_iii_to_ii_five_hours_in_is_due_an_hour_after_the_upgrade() -> None:
    f = facts(
        level=Level.II,
        known_at={
            Level.IV: OCCURRED + 20 * M,
            Level.III: OCCURRED + 20 * M,
            Level.II: OCCURRED + 5 * H,
        },
    )
    specs = by_kind(incident_obligations(f))
    assert specs[ObligationKind.first_release].due_at == utc(2026, 7, 14, 8, 0, 0)  # 16:00 local
    assert specs[ObligationKind.press_conference].due_at == utc(
        2026, 7, 15, 2, 0, 0
    )  # event + 24 h


def test_an_upgrade_known_only_after_a_day_is_due_an_hour_after_it_for_the_conference_too() -> None:
    f = facts(known_at={Level.III: OCCURRED, Level.II: OCCURRED + 30 * H})
    specs = by_kind(incident_obligations(f))
    assert specs[ObligationKind.first_release].due_at == utc(2026, 7, 15, 9, 0, 0)
    assert specs[ObligationKind.press_conference].due_at == utc(2026, 7, 15, 9, 0, 0)


def test_an_incident_level_i_from_the_start_counts_known_i_as_known_ii() -> None:
    f = facts(level=Level.I, known_at={Level.I: OCCURRED + 2 * H + 30 * M})
    assert known_major_at(f) == OCCURRED + 2 * H + 30 * M
    specs = by_kind(incident_obligations(f))
    assert specs[ObligationKind.first_release].due_at == utc(2026, 7, 14, 5, 30, 0)


def test_a_level_ii_incident_raised_to_i_keeps_the_clock_of_when_it_became_ii() -> None:
    f = facts(level=Level.I, known_at={Level.II: OCCURRED + 1 * H, Level.I: OCCURRED + 6 * H})
    specs = by_kind(incident_obligations(f))
    assert specs[ObligationKind.first_release].due_at == utc(2026, 7, 14, 5, 0, 0)
    assert specs[ObligationKind.press_conference].due_at == utc(2026, 7, 15, 2, 0, 0)


@pytest.mark.parametrize(
    "category", [Category.natural_disaster, Category.accident, Category.public_health]
)
@pytest.mark.parametrize("level", [Level.I, Level.II])
def test_art_23_clocks_run_for_major_disasters_accidents_and_health_events(
    category: Category, level: Level
) -> None:
    kinds = [s.kind for s in incident_obligations(facts(category=category, level=level))]
    assert kinds == [ObligationKind.first_release, ObligationKind.press_conference]


@pytest.mark.parametrize("category", list(Category))
@pytest.mark.parametrize("level", [Level.III, Level.IV])
def test_larger_and_general_incidents_owe_no_art_23_clock(category: Category, level: Level) -> None:
    assert incident_obligations(facts(category=category, level=level)) == []


def test_a_major_social_security_incident_has_no_art_23_clock() -> None:
    assert incident_obligations(facts(category=Category.social_security, level=Level.I)) == []


def test_a_major_incident_without_a_known_time_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="no known_at for level II or above"):
        incident_obligations(facts(level=Level.II, known_at={Level.III: OCCURRED}))


def test_a_non_utc_occurred_time_gives_a_utc_due_time() -> None:
    local = datetime(2026, 7, 14, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    specs = by_kind(incident_obligations(facts(occurred_at=local, known_at={Level.II: local})))
    assert specs[ObligationKind.first_release].due_at == utc(2026, 7, 14, 5, 0, 0)
    assert specs[ObligationKind.first_release].due_at.tzinfo is UTC


def test_a_naive_occurred_time_is_refused() -> None:
    naive = datetime(2026, 7, 14, 2, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        incident_obligations(facts(occurred_at=naive, known_at={Level.II: OCCURRED}))


def test_configured_windows_replace_the_defaults() -> None:
    windows = Windows(first_release=2 * H, late_report_grace=30 * M, press_conference=12 * H)
    late = facts(known_at={Level.II: OCCURRED + 1 * H + 45 * M})
    specs = by_kind(incident_obligations(late, windows))
    assert specs[ObligationKind.first_release].due_at == utc(2026, 7, 14, 4, 15, 0)
    assert specs[ObligationKind.press_conference].due_at == utc(2026, 7, 14, 14, 0, 0)


# --- Art. 25: major public opinion on a social-security incident ----------------------------


@pytest.mark.parametrize("level", list(Level))
def test_major_public_opinion_on_a_social_security_incident_is_answered_within_the_hour(
    level: Level,
) -> None:
    marked = utc(2026, 7, 14, 13, 20, 5)
    f = facts(category=Category.social_security, level=level, public_opinion_major_at=marked)
    assert incident_obligations(f) == [
        ObligationSpec(
            kind=ObligationKind.opinion_response,
            due_at=utc(2026, 7, 14, 14, 20, 5),
            article="Art. 25",
            scale=Scale.hours,
            reason="major public opinion marked at 2026-07-14T13:20:05Z, due 1 h after",
        )
    ]


def test_major_public_opinion_on_an_accident_is_not_an_art_25_matter() -> None:
    f = facts(level=Level.III, public_opinion_major_at=utc(2026, 7, 14, 13))
    assert incident_obligations(f) == []


def test_the_opinion_response_window_is_configurable() -> None:
    marked = utc(2026, 7, 14, 13, 20, 5)
    f = facts(category=Category.social_security, level=Level.III, public_opinion_major_at=marked)
    (spec,) = incident_obligations(f, Windows(opinion_response=30 * M))
    assert (spec.due_at, spec.reason) == (
        utc(2026, 7, 14, 13, 50, 5),
        "major public opinion marked at 2026-07-14T13:20:05Z, due 30 min after",
    )


# --- Art. 24: summary after a major disaster or accident is closed --------------------------


def test_a_major_flood_closed_on_30_september_2026_owes_its_summary_by_13_october() -> None:
    f = facts(
        category=Category.natural_disaster,
        level=Level.I,
        known_at={Level.I: OCCURRED},
        closed_at=utc(2026, 9, 30, 7, 0),  # 15:00 Wed 30 Sep in Shanghai
    )
    specs = by_kind(incident_obligations(f))
    assert list(specs) == [
        ObligationKind.first_release,
        ObligationKind.press_conference,
        ObligationKind.disaster_summary,
    ]
    summary = specs[ObligationKind.disaster_summary]
    assert summary == ObligationSpec(
        kind=ObligationKind.disaster_summary,
        due_at=utc(2026, 10, 13, 16, 0, 0),
        article="Art. 24",
        scale=Scale.days,
        calendar_estimated=False,
        reason="5 working days after closing at 2026-09-30T07:00:00Z",
    )


def test_a_closing_at_01_00_on_1_october_shanghai_counts_from_2_october() -> None:
    f = facts(closed_at=utc(2026, 9, 30, 17, 0))  # 01:00 Thu 1 Oct in Shanghai
    assert by_kind(incident_obligations(f))[ObligationKind.disaster_summary].due_at == utc(
        2026, 10, 13, 16
    )
    # One working day only: the first working day after National Day.
    one_day = Windows(disaster_summary_working_days=1)
    assert by_kind(incident_obligations(f, one_day))[ObligationKind.disaster_summary].due_at == (
        utc(2026, 10, 8, 16)
    )


def test_a_major_accident_closed_on_tuesday_29_september_counts_30_september() -> None:
    f = facts(closed_at=utc(2026, 9, 29, 2, 0))
    assert by_kind(incident_obligations(f))[ObligationKind.disaster_summary].due_at == utc(
        2026, 10, 12, 16
    )


def test_a_closed_major_public_health_event_owes_no_art_24_summary() -> None:
    f = facts(category=Category.public_health, level=Level.I, closed_at=utc(2026, 9, 30, 7))
    assert [s.kind for s in incident_obligations(f)] == [
        ObligationKind.first_release,
        ObligationKind.press_conference,
    ]


def test_a_closed_larger_natural_disaster_owes_no_summary() -> None:
    f = facts(category=Category.natural_disaster, level=Level.III, closed_at=utc(2026, 9, 30, 7))
    assert incident_obligations(f) == []


@needs_uncovered_2027
def test_a_summary_running_into_2027_is_estimated_monday_to_friday() -> None:
    f = facts(closed_at=utc(2026, 12, 30, 2))  # Wed 30 Dec 2026
    summary = by_kind(incident_obligations(f))[ObligationKind.disaster_summary]
    assert summary.due_at == utc(2027, 1, 6, 16)  # 31 Dec, 1, 4, 5, 6 Jan (Mon-Fri assumed)
    assert summary.calendar_estimated is True


# --- Art. 23 follow-ups -----------------------------------------------------------------------


def test_a_follow_up_is_due_6_h_after_the_last_publication() -> None:
    spec = follow_up_due(last_publication_at=utc(2026, 7, 14, 4, 10), significant_change_at=None)
    assert spec == ObligationSpec(
        kind=ObligationKind.follow_up,
        due_at=utc(2026, 7, 14, 10, 10, 0),
        article="Art. 23",
        scale=Scale.hours,
        reason="due 6 h after the publication at 2026-07-14T04:10:00Z",
    )


def test_a_casualty_change_after_publication_brings_the_follow_up_forward_to_2_h() -> None:
    spec = follow_up_due(
        last_publication_at=utc(2026, 7, 14, 4, 10), significant_change_at=utc(2026, 7, 14, 5, 0)
    )
    assert spec is not None
    assert spec.due_at == utc(2026, 7, 14, 7, 0, 0)
    assert spec.reason == "due 2 h after the significant change at 2026-07-14T05:00:00Z"


def test_a_change_late_in_the_6_h_window_does_not_push_the_follow_up_back() -> None:
    spec = follow_up_due(
        last_publication_at=utc(2026, 7, 14, 4, 10), significant_change_at=utc(2026, 7, 14, 9, 0)
    )
    assert spec is not None
    assert spec.due_at == utc(2026, 7, 14, 10, 10, 0)


def test_a_change_already_covered_by_the_last_publication_starts_no_2_h_clock() -> None:
    published = utc(2026, 7, 14, 4, 10)
    for changed in (utc(2026, 7, 14, 3, 0), published):
        spec = follow_up_due(last_publication_at=published, significant_change_at=changed)
        assert spec is not None
        assert spec.due_at == utc(2026, 7, 14, 10, 10, 0)


def test_a_change_before_anything_is_published_is_followed_up_in_2_h() -> None:
    spec = follow_up_due(last_publication_at=None, significant_change_at=utc(2026, 7, 14, 5, 0))
    assert spec is not None
    assert spec.due_at == utc(2026, 7, 14, 7, 0, 0)


def test_nothing_published_and_nothing_changed_owes_no_follow_up() -> None:
    assert follow_up_due(last_publication_at=None, significant_change_at=None) is None


def test_follow_up_windows_are_configurable() -> None:
    windows = Windows(follow_up_after_publication=4 * H, follow_up_after_change=90 * M)
    spec = follow_up_due(
        last_publication_at=utc(2026, 7, 14, 4, 0),
        significant_change_at=utc(2026, 7, 14, 6, 45),
        windows=windows,
    )
    assert spec is not None
    assert spec.due_at == utc(2026, 7, 14, 8, 0, 0)
    assert spec.reason == "due 4 h after the publication at 2026-07-14T04:00:00Z"
    later = follow_up_due(
        last_publication_at=None, significant_change_at=utc(2026, 7, 14, 6, 45), windows=windows
    )
    assert later is not None
    assert later.reason == "due 1 h 30 min after the significant change at 2026-07-14T06:45:00Z"


# --- Art. 20: regular information and media supervision --------------------------------------


def test_regular_information_reviewed_on_30_september_2026_is_published_by_13_october() -> None:
    spec = regular_info_due(utc(2026, 9, 30, 2, 0))
    assert spec == ObligationSpec(
        kind=ObligationKind.regular_info,
        due_at=utc(2026, 10, 13, 16, 0, 0),
        article="Art. 20",
        scale=Scale.days,
        calendar_estimated=False,
        reason="5 working days after review at 2026-09-30T02:00:00Z",
    )


def test_regular_information_reviewed_before_the_adjusted_sunday_counts_it() -> None:
    # Fri 18 Sep 2026 → Sun 20 (worked), 21, 22, 23, 24 Sep; Fri 25 is Mid-Autumn.
    assert regular_info_due(utc(2026, 9, 18, 2)).due_at == utc(2026, 9, 24, 16)


@needs_uncovered_2027
def test_regular_information_in_2027_is_estimated_monday_to_friday() -> None:
    # Thu 30 Sep 2027 → Fri 1 Oct (holidays not yet published), 4, 5, 6, 7 Oct.
    spec = regular_info_due(utc(2027, 9, 30, 2))
    assert spec.due_at == utc(2027, 10, 7, 16)
    assert spec.calendar_estimated is True


def test_a_media_supervision_matter_registered_before_national_day() -> None:
    spec = media_supervision_due(utc(2026, 9, 30, 2))
    assert (spec.due_at, spec.article, spec.scale) == (utc(2026, 10, 13, 16), "Art. 20", Scale.days)
    shorter = media_supervision_due(utc(2026, 9, 30, 2), Windows(media_supervision_working_days=3))
    assert shorter.due_at == utc(2026, 10, 10, 16)  # the adjusted Saturday


# --- Art. 31: filing a conference ---------------------------------------------------------------


def test_a_department_conference_on_monday_12_october_is_filed_by_the_end_of_29_september() -> None:
    spec = conference_filing_due(utc(2026, 10, 12, 1, 0))  # 09:00 Mon 12 Oct in Shanghai
    assert spec == ObligationSpec(
        kind=ObligationKind.conference_filing,
        due_at=utc(2026, 9, 29, 16, 0, 0),
        article="Art. 31(2)",
        scale=Scale.days,
        calendar_estimated=False,
        reason="5 working days before the conference at 2026-10-12T01:00:00Z",
    )


def test_a_prefecture_significant_conference_cites_art_31_3() -> None:
    spec = conference_filing_due(utc(2026, 10, 12, 1, 0), by_prefecture=True)
    assert (spec.due_at, spec.article) == (utc(2026, 9, 29, 16), "Art. 31(3)")


def test_a_conference_just_after_midnight_shanghai_counts_back_from_its_local_day() -> None:
    # 00:30 Tue 13 Oct in Shanghai: 12, 10, 9, 8 Oct, 30 Sep.
    assert conference_filing_due(utc(2026, 10, 12, 16, 30)).due_at == utc(2026, 9, 30, 16)


def test_the_filing_lead_time_is_configurable() -> None:
    # Mon 12 Oct 2026, 3 working days ahead: 10 (adjusted Saturday), 9, 8 Oct.
    spec = conference_filing_due(utc(2026, 10, 12, 1), Windows(conference_filing_working_days=3))
    assert (spec.due_at, spec.reason) == (
        utc(2026, 10, 8, 16),
        "3 working days before the conference at 2026-10-12T01:00:00Z",
    )


# --- Art. 9 and Art. 29 -------------------------------------------------------------------------


def test_a_spokesperson_changed_on_31_january_is_reported_by_the_end_of_february() -> None:
    assert spokesperson_change_due(utc(2026, 1, 31, 2)) == ObligationSpec(
        kind=ObligationKind.spokesperson_change,
        due_at=utc(2026, 2, 28, 16, 0, 0),
        article="Art. 9",
        scale=Scale.days,
        calendar_estimated=False,
        reason="one month after the change at 2026-01-31T02:00:00Z",
    )
    assert spokesperson_change_due(utc(2028, 1, 31, 2)).due_at == utc(2028, 2, 29, 16, 0, 0)


@pytest.mark.parametrize(
    ("at", "due"),
    [
        (utc(2026, 2, 10, 2), utc(2026, 3, 31, 16)),
        (utc(2026, 4, 1, 2), utc(2026, 6, 30, 16)),
        (utc(2026, 9, 30, 15, 59, 59), utc(2026, 9, 30, 16)),
        (utc(2026, 9, 30, 16, 0, 0), utc(2026, 12, 31, 16)),  # already 1 Oct in Shanghai
        (utc(2026, 12, 31, 16, 0, 0), utc(2027, 3, 31, 16)),
    ],
)
def test_a_routine_conference_is_due_by_the_end_of_the_quarter(at: datetime, due: datetime) -> None:
    spec = routine_conference_due(at)
    assert (spec.kind, spec.due_at, spec.article, spec.scale) == (
        ObligationKind.routine_conference,
        due,
        "Art. 29",
        Scale.days,
    )


# --- reminders -------------------------------------------------------------------------------


def test_an_hours_obligation_is_reminded_60_30_and_10_minutes_before() -> None:
    first = by_kind(incident_obligations(facts()))[ObligationKind.first_release]
    assert reminder_times(first) == [
        ("60m", utc(2026, 7, 14, 4, 0, 0)),
        ("30m", utc(2026, 7, 14, 4, 30, 0)),
        ("10m", utc(2026, 7, 14, 4, 50, 0)),
    ]


def test_reminders_already_past_are_dropped_and_one_falling_now_is_kept() -> None:
    due = (utc(2026, 7, 14, 5, 0, 0), Scale.hours)
    assert reminder_times(due, now=utc(2026, 7, 14, 4, 30, 0)) == [
        ("30m", utc(2026, 7, 14, 4, 30, 0)),
        ("10m", utc(2026, 7, 14, 4, 50, 0)),
    ]
    assert reminder_times(due, now=utc(2026, 7, 14, 4, 30, 1)) == [
        ("10m", utc(2026, 7, 14, 4, 50, 0)),
    ]
    assert reminder_times(due, now=utc(2026, 7, 14, 5, 0, 0)) == []


def test_a_late_report_due_in_an_hour_gets_its_60_minute_reminder_at_once() -> None:
    reported = OCCURRED + 4 * H
    first = by_kind(incident_obligations(facts(known_at={Level.II: reported})))[
        ObligationKind.first_release
    ]
    assert reminder_times(first, now=reported)[0] == ("60m", reported)


def test_a_days_obligation_is_reminded_at_the_end_of_the_previous_working_day() -> None:
    spec = regular_info_due(utc(2026, 9, 30, 2))  # due end of Tue 13 Oct
    assert reminder_times(spec) == [("1wd", utc(2026, 10, 12, 16, 0, 0))]


def test_a_day_reminder_skips_back_across_national_day() -> None:
    # Due at the end of Thu 8 Oct 2026, the first working day after the holiday.
    assert reminder_times((utc(2026, 10, 8, 16), Scale.days)) == [("1wd", utc(2026, 9, 30, 16))]


def test_a_day_reminder_may_fall_on_an_adjusted_saturday() -> None:
    assert reminder_times((utc(2026, 10, 12, 16), Scale.days)) == [("1wd", utc(2026, 10, 10, 16))]


def test_conference_filing_and_quarter_reminders() -> None:
    filing = conference_filing_due(utc(2026, 10, 12, 1))  # due end of Tue 29 Sep
    assert reminder_times(filing) == [("1wd", utc(2026, 9, 28, 16))]
    quarter = routine_conference_due(utc(2026, 8, 1))  # due end of Wed 30 Sep
    assert reminder_times(quarter) == [("1wd", utc(2026, 9, 29, 16))]


def test_a_spokesperson_change_is_reminded_a_working_day_before_its_month_ends() -> None:
    # Due at the end of Sat 28 Feb 2026, a worked Saturday: reminded at the end of Fri 27 Feb.
    spec = spokesperson_change_due(utc(2026, 1, 31, 2))
    assert reminder_times(spec) == [("1wd", utc(2026, 2, 27, 16))]


def test_reminders_are_configurable() -> None:
    windows = Windows(reminders_hours=(2 * H, 15 * M, 90 * S), reminder_working_days=2)
    assert reminder_times((utc(2026, 7, 14, 5), Scale.hours), windows) == [
        ("120m", utc(2026, 7, 14, 3, 0, 0)),
        ("15m", utc(2026, 7, 14, 4, 45, 0)),
        ("90s", utc(2026, 7, 14, 4, 58, 30)),
    ]
    assert reminder_times((utc(2026, 10, 13, 16), Scale.days), windows) == [
        ("2wd", utc(2026, 10, 10, 16)),
    ]
    off = Windows(reminder_working_days=0)
    assert reminder_times((utc(2026, 10, 13, 16), Scale.days), off) == []


# --- articles, accountability, windows --------------------------------------------------------


def test_every_obligation_cites_its_article() -> None:
    assert dict(ARTICLES) == {
        ObligationKind.first_release: "Art. 23",
        ObligationKind.press_conference: "Art. 23",
        ObligationKind.follow_up: "Art. 23",
        ObligationKind.opinion_response: "Art. 25",
        ObligationKind.disaster_summary: "Art. 24",
        ObligationKind.regular_info: "Art. 20",
        ObligationKind.media_supervision: "Art. 20",
        ObligationKind.conference_filing: "Art. 31(2)",
        ObligationKind.spokesperson_change: "Art. 9",
        ObligationKind.routine_conference: "Art. 29",
    }


@pytest.mark.parametrize("kind", list(ObligationKind))
def test_only_a_missed_follow_up_escapes_art_39_accountability(kind: ObligationKind) -> None:
    assert escalates_to_accountability(kind) is (kind != ObligationKind.follow_up)


def test_the_default_windows_are_those_of_rules_section_3() -> None:
    w = DEFAULT_WINDOWS
    assert (w.first_release, w.late_report_grace, w.press_conference, w.conference_late_grace) == (
        3 * H,
        1 * H,
        24 * H,
        1 * H,
    )
    assert (w.follow_up_after_publication, w.follow_up_after_change, w.opinion_response) == (
        6 * H,
        2 * H,
        1 * H,
    )
    assert (
        w.disaster_summary_working_days,
        w.regular_info_working_days,
        w.media_supervision_working_days,
        w.conference_filing_working_days,
        w.reminder_working_days,
    ) == (5, 5, 5, 5, 1)
    assert w.reminders_hours == (60 * M, 30 * M, 10 * M)


@pytest.mark.parametrize(
    "bad",
    [
        {"first_release": timedelta(0)},
        {"opinion_response": -1 * M},
        {"late_report_grace": -1 * S},
        {"regular_info_working_days": 0},
        {"reminders_hours": (10 * M, timedelta(0))},
        {"reminder_working_days": -1},
    ],
)
def test_nonsensical_windows_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Windows(**bad)  # type: ignore[arg-type]


def test_a_zero_late_report_grace_is_allowed() -> None:
    w = Windows(late_report_grace=timedelta(0))
    late = by_kind(incident_obligations(facts(known_at={Level.II: OCCURRED + 4 * H}), w))
    assert late[ObligationKind.first_release].due_at == OCCURRED + 4 * H


def test_specs_and_windows_are_immutable() -> None:
    spec = regular_info_due(utc(2026, 9, 30, 2))
    with pytest.raises(FrozenInstanceError):
        spec.due_at = utc(2030, 1, 1)  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        DEFAULT_WINDOWS.first_release = H  # type: ignore[misc]


# --- properties -------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2004, 1, 2), max_value=datetime(2028, 12, 1), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))


@st.composite
def incident_facts(draw: st.DrawFn) -> IncidentClockFacts:
    category = draw(st.sampled_from(list(Category)))
    level = draw(st.sampled_from(list(Level)))
    occurred = draw(instants)
    # Reports come in order of severity: known(IV) <= known(III) <= known(II) <= known(I).
    order = [Level.IV, Level.III, Level.II, Level.I]
    reached = order[: order.index(level) + 1]
    start = draw(st.integers(min_value=0, max_value=len(reached) - 1))
    known: dict[Level, datetime] = {}
    t = occurred + draw(offsets)
    for lv in reached[start:]:
        t += draw(offsets)
        known[lv] = t
    opinion = draw(st.none() | offsets.map(lambda d: occurred + d))
    closed = draw(st.none() | offsets.map(lambda d: occurred + timedelta(days=1) + d))
    return IncidentClockFacts(
        category=category,
        level=level,
        occurred_at=occurred,
        known_at=known,
        public_opinion_major_at=opinion,
        closed_at=closed,
    )


@given(incident_facts())
def test_the_same_facts_always_give_the_same_obligations(f: IncidentClockFacts) -> None:
    first = incident_obligations(f)
    again = incident_obligations(
        IncidentClockFacts(
            category=f.category,
            level=f.level,
            occurred_at=f.occurred_at,
            known_at=dict(reversed(list(f.known_at.items()))),
            public_opinion_major_at=f.public_opinion_major_at,
            closed_at=f.closed_at,
        )
    )
    assert first == again == incident_obligations(f)
    assert all(s.due_at.tzinfo is UTC for s in first)
    assert all(s.article == ARTICLES[s.kind] for s in first)


@given(incident_facts())
def test_a_first_release_is_never_due_before_3_h_after_the_event_nor_1_h_after_the_report(
    f: IncidentClockFacts,
) -> None:
    specs = by_kind(incident_obligations(f))
    first = specs.get(ObligationKind.first_release)
    if first is None:
        return
    assert first.due_at >= f.occurred_at + 3 * H
    assert first.due_at >= known_major_at(f) + 1 * H
    assert first.due_at in (f.occurred_at + 3 * H, known_major_at(f) + 1 * H)
    assert specs[ObligationKind.press_conference].due_at >= f.occurred_at + 24 * H


@given(incident_facts(), instants)
def test_reminders_come_before_the_due_time_and_in_order(
    f: IncidentClockFacts, now: datetime
) -> None:
    for spec in incident_obligations(f):
        times = [at for _, at in reminder_times(spec, now=now)]
        assert times == sorted(times)
        assert all(now <= at < spec.due_at for at in times)


def test_windows_left_open_by_the_measures_come_from_configuration() -> None:
    from app.rules.obligations import windows_from_config

    w = windows_from_config({"follow_up_after_publication": 14400, "reminders_hours": [3600, 600]})
    assert w.follow_up_after_publication == timedelta(hours=4)
    assert w.reminders_hours == (timedelta(hours=1), timedelta(minutes=10))
    assert w.first_release == timedelta(hours=3)  # untouched windows keep RULES §3
    assert (
        windows_from_config({"disaster_summary_working_days": 7}).disaster_summary_working_days == 7
    )
    with pytest.raises(ValueError, match="unknown obligation window"):
        windows_from_config({"first_relase": 60})
