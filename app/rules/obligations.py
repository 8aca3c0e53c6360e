"""The clocks of the Measures: which obligations the facts call for, and when each is due.

RULES.md §3, one function per row. Pure: the caller passes every time (all
timezone-aware, UTC out); days are counted by `app.rules.calendar`. Whether an
obligation is met, breached or cancelled is the workflow's business; this module
only says what is owed and by when, and the same facts always give the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from app.rules.calendar import (
    DayCount,
    aware_utc,
    end_of_quarter,
    one_month_after,
    previous_working_day_end,
    working_days_after,
    working_days_before,
)
from app.rules.levels import Category, Level


class ObligationKind(StrEnum):
    first_release = "first_release"
    press_conference = "press_conference"
    follow_up = "follow_up"
    opinion_response = "opinion_response"
    disaster_summary = "disaster_summary"
    regular_info = "regular_info"
    media_supervision = "media_supervision"
    conference_filing = "conference_filing"
    spokesperson_change = "spokesperson_change"
    routine_conference = "routine_conference"


ARTICLES: Mapping[ObligationKind, str] = MappingProxyType(
    {
        ObligationKind.first_release: "Art. 23",
        ObligationKind.press_conference: "Art. 23",
        ObligationKind.follow_up: "Art. 23",
        ObligationKind.opinion_response: "Art. 25",
        ObligationKind.disaster_summary: "Art. 24",
        ObligationKind.regular_info: "Art. 20",
        ObligationKind.media_supervision: "Art. 20",
        # Art. 31(3) for a prefecture's significant conference: see conference_filing_due.
        ObligationKind.conference_filing: "Art. 31(2)",
        ObligationKind.spokesperson_change: "Art. 9",
        ObligationKind.routine_conference: "Art. 29",
    }
)


class Scale(StrEnum):
    """What a window is measured in; decides which reminders fire."""

    hours = "hours"
    days = "days"


SCALES: Mapping[ObligationKind, Scale] = MappingProxyType(
    {
        ObligationKind.first_release: Scale.hours,
        ObligationKind.press_conference: Scale.hours,
        ObligationKind.follow_up: Scale.hours,
        ObligationKind.opinion_response: Scale.hours,
        ObligationKind.disaster_summary: Scale.days,
        ObligationKind.regular_info: Scale.days,
        ObligationKind.media_supervision: Scale.days,
        ObligationKind.conference_filing: Scale.days,
        ObligationKind.spokesperson_change: Scale.days,
        ObligationKind.routine_conference: Scale.days,
    }
)


@dataclass(frozen=True)
class Windows:
    """Every window is configurable; the defaults are RULES.md §3.

    Fixed by the Measures: first_release 3 h and late_report_grace 1 h (Art. 23),
    press_conference 24 h (Art. 23), regular_info 5 working days (Art. 20),
    conference_filing 5 working days (Art. 31(2)-(3)).
    Left open by the Measures, product defaults:
    - conference_late_grace: Art. 23 gives no late-report rule for the conference;
      we reuse the 1 h of the first release so a late report is never due in the past.
    - follow_up_*: Art. 23 only says follow-up releases may be made as things develop.
    - opinion_response: Art. 25 says "immediately".
    - disaster_summary: Art. 24 says "in a timely manner".
    - media_supervision: Art. 20 says "in time".
    - reminders: not in the Measures at all.
    (Art. 9's one month and Art. 29's quarter are not windows: they are fixed.)
    """

    first_release: timedelta = timedelta(hours=3)
    late_report_grace: timedelta = timedelta(hours=1)
    press_conference: timedelta = timedelta(hours=24)
    conference_late_grace: timedelta = timedelta(hours=1)
    follow_up_after_publication: timedelta = timedelta(hours=6)
    follow_up_after_change: timedelta = timedelta(hours=2)
    opinion_response: timedelta = timedelta(hours=1)
    disaster_summary_working_days: int = 5
    regular_info_working_days: int = 5
    media_supervision_working_days: int = 5
    conference_filing_working_days: int = 5
    reminders_hours: tuple[timedelta, ...] = field(
        default=(timedelta(minutes=60), timedelta(minutes=30), timedelta(minutes=10))
    )
    reminder_working_days: int = 1

    def __post_init__(self) -> None:
        for name in (
            "first_release",
            "press_conference",
            "follow_up_after_publication",
            "follow_up_after_change",
            "opinion_response",
        ):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"window {name} must be positive")
        for name in ("late_report_grace", "conference_late_grace"):
            if getattr(self, name) < timedelta(0):
                raise ValueError(f"window {name} must not be negative")
        for name in (
            "disaster_summary_working_days",
            "regular_info_working_days",
            "media_supervision_working_days",
            "conference_filing_working_days",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"window {name} must be at least 1 working day")
        if any(r <= timedelta(0) for r in self.reminders_hours):
            raise ValueError("reminders_hours must all be positive")
        if self.reminder_working_days < 0:
            raise ValueError("reminder_working_days must not be negative (0 turns it off)")


DEFAULT_WINDOWS = Windows()


@dataclass(frozen=True)
class ObligationSpec:
    """An obligation as the rules see it: what, by when, under which article.

    `calendar_estimated` is true when the due time rests on Monday-Friday for a
    year the official calendar does not cover yet; recompute when it does.
    `reason` says in words how the due time was reached, for the timeline.
    """

    kind: ObligationKind
    due_at: datetime
    article: str
    scale: Scale
    calendar_estimated: bool = False
    reason: str = ""


@dataclass(frozen=True)
class IncidentClockFacts:
    """The facts of an incident that set its clocks.

    `known_at[L]` is when the facts first put the incident at level L *or above*
    (the report, or the situation report that raised it). `level` is the level
    now; after an authorised downgrade below II the Art. 23 obligations are no
    longer called for and the workflow cancels them.
    """

    category: Category
    level: Level
    occurred_at: datetime
    known_at: Mapping[Level, datetime]
    public_opinion_major_at: datetime | None = None
    closed_at: datetime | None = None


# Art. 22-23: the first-release and conference clocks run for these categories at I/II.
_ART_23_CATEGORIES = frozenset(
    {Category.natural_disaster, Category.accident, Category.public_health}
)
# Art. 24: the summary of causes and losses is owed for I/II natural disasters and accidents.
_ART_24_CATEGORIES = frozenset({Category.natural_disaster, Category.accident})
_MAJOR_LEVELS = frozenset({Level.I, Level.II})


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(window: timedelta) -> str:
    """A window in words: "3 h", "30 min", "1 h 30 min", "45 s"."""
    seconds = int(window.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
        f"{secs} s" if secs else "",
    ]
    return " ".join(p for p in parts if p) or "0 s"


def _spec(
    kind: ObligationKind, due_at: datetime, *, reason: str, estimated: bool = False
) -> ObligationSpec:
    return ObligationSpec(
        kind=kind,
        due_at=due_at.astimezone(UTC),
        article=ARTICLES[kind],
        scale=SCALES[kind],
        calendar_estimated=estimated,
        reason=reason,
    )


def _days_spec(kind: ObligationKind, count: DayCount, reason: str) -> ObligationSpec:
    return _spec(kind, count.at, reason=reason, estimated=count.estimated)


def known_major_at(facts: IncidentClockFacts) -> datetime:
    """known(II): when the facts first put the incident at level II or above.

    Level I is "II or above", so a known(I) counts too and the earliest wins;
    an incident reported as level I from the start has known(II) = known(I).
    Facts at level I/II with neither time are inconsistent and refused rather
    than guessed, since guessing could set a due time in the past.
    """
    times = [
        aware_utc(facts.known_at[lv], f"known_at[{lv}]")
        for lv in _MAJOR_LEVELS
        if lv in facts.known_at
    ]
    if not times:
        raise ValueError(f"incident at level {facts.level} has no known_at for level II or above")
    return min(times)


def first_release_due(
    occurred_at: datetime, known_major: datetime, windows: Windows = DEFAULT_WINDOWS
) -> ObligationSpec:
    """Art. 23: first release 3 h after the event, or 1 h after a late report, if later."""
    occurred_at = aware_utc(occurred_at, "occurred_at")
    known_major = aware_utc(known_major, "known_major")
    on_time = occurred_at + windows.first_release
    late = known_major + windows.late_report_grace
    # Ties go to the 3 h rule: a report exactly at the crossover is not late.
    if late > on_time:
        reason = (
            f"reported late: level II or above known at {_iso(known_major)}, "
            f"due {_span(windows.late_report_grace)} after that"
        )
        return _spec(ObligationKind.first_release, late, reason=reason)
    reason = f"due {_span(windows.first_release)} after the event at {_iso(occurred_at)}"
    return _spec(ObligationKind.first_release, on_time, reason=reason)


def press_conference_due(
    occurred_at: datetime, known_major: datetime, windows: Windows = DEFAULT_WINDOWS
) -> ObligationSpec:
    """Art. 23: a press conference within 24 h of the event (or 1 h after a later report)."""
    occurred_at = aware_utc(occurred_at, "occurred_at")
    known_major = aware_utc(known_major, "known_major")
    on_time = occurred_at + windows.press_conference
    late = known_major + windows.conference_late_grace
    if late > on_time:
        reason = (
            f"level II or above known only at {_iso(known_major)}, "
            f"due {_span(windows.conference_late_grace)} after that"
        )
        return _spec(ObligationKind.press_conference, late, reason=reason)
    reason = f"due {_span(windows.press_conference)} after the event at {_iso(occurred_at)}"
    return _spec(ObligationKind.press_conference, on_time, reason=reason)


def opinion_response_due(marked_at: datetime, windows: Windows = DEFAULT_WINDOWS) -> ObligationSpec:
    """Art. 25: once a major online public opinion has formed, release at once (1 h by default)."""
    marked_at = aware_utc(marked_at, "public_opinion_major_at")
    reason = (
        f"major public opinion marked at {_iso(marked_at)}, "
        f"due {_span(windows.opinion_response)} after"
    )
    return _spec(
        ObligationKind.opinion_response, marked_at + windows.opinion_response, reason=reason
    )


def disaster_summary_due(closed_at: datetime, windows: Windows = DEFAULT_WINDOWS) -> ObligationSpec:
    """Art. 24: causes, losses and relief of an I/II disaster or accident, after closing."""
    n = windows.disaster_summary_working_days
    count = working_days_after(aware_utc(closed_at, "closed_at"), n)
    return _days_spec(
        ObligationKind.disaster_summary,
        count,
        f"{n} working days after closing at {_iso(closed_at)}",
    )


def incident_obligations(
    facts: IncidentClockFacts, windows: Windows = DEFAULT_WINDOWS
) -> list[ObligationSpec]:
    """The obligations an incident's facts call for, in ObligationKind order.

    Only the current facts matter, so recomputing is idempotent. Closing the
    incident does not remove the Art. 23 obligations from the list: whether they
    were met before closing is for the workflow to record. Follow-ups depend on
    publications and are computed by `follow_up_due`.
    """
    specs: list[ObligationSpec] = []
    major = facts.level in _MAJOR_LEVELS

    if major and facts.category in _ART_23_CATEGORIES:
        # Art. 23: the 3 h rule still counts from the event after an upgrade; known(II)
        # is the situation report that raised it, so an upgrade 5 h in is due 1 h after it.
        known = known_major_at(facts)
        specs.append(first_release_due(facts.occurred_at, known, windows))
        specs.append(press_conference_due(facts.occurred_at, known, windows))

    if facts.category == Category.social_security and facts.public_opinion_major_at is not None:
        # Art. 25 applies to social-security incidents at any level once opinion is major.
        specs.append(opinion_response_due(facts.public_opinion_major_at, windows))

    if major and facts.category in _ART_24_CATEGORIES and facts.closed_at is not None:
        specs.append(disaster_summary_due(facts.closed_at, windows))

    return specs


def follow_up_due(
    *,
    last_publication_at: datetime | None,
    significant_change_at: datetime | None,
    windows: Windows = DEFAULT_WINDOWS,
) -> ObligationSpec | None:
    """Art. 23: the next follow-up release of an active I/II incident (the caller checks that).

    Due 6 h after the last publication, or 2 h after a situation report that
    changed casualties or level, whichever comes first. A change at or before
    the last publication is taken as already reported by it, so only a change
    after it starts the 2 h clock. None when nothing has been published or changed.
    A breach is flagged, not an Art. 39 matter by default (see escalates_to_accountability).
    """
    candidates: list[tuple[datetime, str]] = []
    published = None
    if last_publication_at is not None:
        published = aware_utc(last_publication_at, "last_publication_at")
        candidates.append(
            (
                published + windows.follow_up_after_publication,
                f"due {_span(windows.follow_up_after_publication)} after the publication"
                f" at {_iso(published)}",
            )
        )
    if significant_change_at is not None:
        changed = aware_utc(significant_change_at, "significant_change_at")
        if published is None or changed > published:
            candidates.append(
                (
                    changed + windows.follow_up_after_change,
                    f"due {_span(windows.follow_up_after_change)} after the significant change"
                    f" at {_iso(changed)}",
                )
            )
    if not candidates:
        return None
    due_at, reason = min(candidates)
    return _spec(ObligationKind.follow_up, due_at, reason=reason)


def regular_info_due(reviewed_at: datetime, windows: Windows = DEFAULT_WINDOWS) -> ObligationSpec:
    """Art. 20: regular government information, 5 working days after production and review."""
    n = windows.regular_info_working_days
    count = working_days_after(aware_utc(reviewed_at, "reviewed_at"), n)
    return _days_spec(
        ObligationKind.regular_info, count, f"{n} working days after review at {_iso(reviewed_at)}"
    )


def media_supervision_due(
    registered_at: datetime, windows: Windows = DEFAULT_WINDOWS
) -> ObligationSpec:
    """Art. 20: the investigation result of a media-supervision matter (5 working days default)."""
    n = windows.media_supervision_working_days
    count = working_days_after(aware_utc(registered_at, "registered_at"), n)
    return _days_spec(
        ObligationKind.media_supervision,
        count,
        f"{n} working days after registration at {_iso(registered_at)}",
    )


def conference_filing_due(
    conference_at: datetime, windows: Windows = DEFAULT_WINDOWS, *, by_prefecture: bool = False
) -> ObligationSpec:
    """Art. 31(2): a department files its conference 5 working days ahead.

    Art. 31(3) asks the same of a prefecture government's significant conference
    (`by_prefecture=True` cites it).

    The conference day itself does not count: Mon 12 Oct 2026 → end of Tue 29 Sep.
    """
    n = windows.conference_filing_working_days
    conference_at = aware_utc(conference_at, "conference_at")
    count = working_days_before(conference_at, n)
    spec = _days_spec(
        ObligationKind.conference_filing,
        count,
        f"{n} working days before the conference at {_iso(conference_at)}",
    )
    return replace(spec, article="Art. 31(3)") if by_prefecture else spec


def spokesperson_change_due(changed_at: datetime) -> ObligationSpec:
    """Art. 9: an organ reports a changed spokesperson or press assistant within one month."""
    count = one_month_after(aware_utc(changed_at, "changed_at"))
    return _days_spec(
        ObligationKind.spokesperson_change,
        count,
        f"one month after the change at {_iso(changed_at)}",
    )


def routine_conference_due(at: datetime) -> ObligationSpec:
    """Art. 29: a department under the routine system holds a conference at least once a quarter."""
    due_at = end_of_quarter(aware_utc(at, "at"))
    return _spec(ObligationKind.routine_conference, due_at, reason="last day of the quarter")


def _reminder_name(before: timedelta) -> str:
    seconds = int(before.total_seconds())
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def reminder_times(
    spec: ObligationSpec | tuple[datetime, Scale],
    windows: Windows = DEFAULT_WINDOWS,
    *,
    now: datetime | None = None,
) -> list[tuple[str, datetime]]:
    """When to remind the responsible organ before a due time, earliest first.

    Hours-scale: 60, 30 and 10 min before ("60m", "30m", "10m"). Days-scale: the
    end of the working day one working day before the due day ("1wd"), which
    skips holidays (due end of Thu 8 Oct 2026 → reminded at the end of 30 Sep).
    With `now`, only reminders at or after it: one falling exactly at `now` is
    still owed (a late report due in 1 h gets its "60m" reminder at once).
    """
    if isinstance(spec, ObligationSpec):
        due_at, scale = spec.due_at, spec.scale
    else:
        due_at, scale = spec
    due_at = aware_utc(due_at, "due_at")

    reminders: dict[str, datetime] = {}
    if scale == Scale.hours:
        for before in windows.reminders_hours:
            reminders[_reminder_name(before)] = due_at - before
    elif windows.reminder_working_days > 0:
        n = windows.reminder_working_days
        reminders[f"{n}wd"] = previous_working_day_end(due_at, n).at

    out = sorted(reminders.items(), key=lambda item: (item[1], item[0]))
    if now is not None:
        cutoff = aware_utc(now, "now")
        out = [(name, at) for name, at in out if at >= cutoff]
    return out


# Art. 39(1) holds to account a release not made in the prescribed time. A follow-up is
# something Art. 23 permits ("may"), so its breach is flagged but not escalated by default.
_NOT_ACCOUNTABLE = frozenset({ObligationKind.follow_up})


def escalates_to_accountability(kind: ObligationKind) -> bool:
    """Whether a breach of this kind opens an Art. 39(1) accountability record."""
    return kind not in _NOT_ACCOUNTABLE


def windows_from_config(values: Mapping[str, float | int | Sequence[float]]) -> Windows:
    """Windows from plain configuration: durations in seconds, day counts as integers.

    `{"follow_up_after_publication": 14400, "reminders_hours": [3600, 600]}` gives a 4 h
    follow-up window and reminders 60 and 10 minutes ahead; unnamed windows keep RULES §3.
    """
    known = {f.name: f for f in fields(Windows)}
    changes: dict[str, object] = {}
    for name, value in values.items():
        if name not in known:
            raise ValueError(f"unknown obligation window {name!r}")
        if name.endswith("_working_days"):
            changes[name] = int(value)  # type: ignore[arg-type]
        elif name == "reminders_hours":
            if not isinstance(value, Sequence):
                raise ValueError("reminders_hours takes a list of seconds")
            changes[name] = tuple(timedelta(seconds=float(v)) for v in value)
        else:
            changes[name] = timedelta(seconds=float(value))  # type: ignore[arg-type]
    return replace(DEFAULT_WINDOWS, **changes)  # type: ignore[arg-type]
