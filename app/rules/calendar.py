"""Working days and calendar periods for the clocks of the Measures.

Days are counted in Asia/Shanghai on the official Chinese calendar (statutory
holidays off, adjusted weekend working days on), as published by the State
Council and shipped in the `chinesecalendar` package. Every datetime in and out
is timezone-aware; results are UTC.

Counting convention (RULES.md "Counting days"): a period of N working days, or
of one calendar month, starts on the local day after the act that opens it and
ends at the end of its last day, 24:00 Asia/Shanghai (16:00 UTC that day).
"N working days before" a date ends at the end of the working day N working
days before it.

When the package has no data for a year (the State Council publishes each
year's arrangement late in the year before), we fall back to Monday-Friday and
mark the answer `estimated` instead of failing: an obligation must always get a
due time, and the caller can recompute it once the calendar is updated.
"""

from __future__ import annotations

import calendar as _gregorian
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")

_ONE_DAY = timedelta(days=1)
# A guard against an endless walk: no real calendar has a year without working days.
_MAX_WALK_DAYS = 3660


@dataclass(frozen=True)
class DayCount:
    """The end of a counted period.

    `at` is the end of the last day (24:00 Asia/Shanghai, in UTC);
    `estimated` is true when any day examined lies in a year the official
    calendar does not cover yet, so Monday-Friday was assumed for it.
    """

    at: datetime
    estimated: bool


def aware_utc(at: datetime, name: str = "datetime") -> datetime:
    """`at` in UTC; a naive datetime is refused, since guessing its zone could move a due time."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {at!r}")
    return at.astimezone(UTC)


def local_date(at: datetime) -> date:
    """The Asia/Shanghai calendar date of an instant (2026-09-30T17:00Z is 1 Oct)."""
    return aware_utc(at).astimezone(SHANGHAI).date()


def end_of_day(d: date) -> datetime:
    """24:00 Asia/Shanghai on `d`, in UTC (16:00 UTC the same date)."""
    return datetime.combine(d + _ONE_DAY, time(0), tzinfo=SHANGHAI).astimezone(UTC)


def _as_local_date(day: date | datetime) -> date:
    # A datetime is an instant: take its date in Shanghai, never its UTC date.
    if isinstance(day, datetime):
        return local_date(day)
    return day


@lru_cache(maxsize=4096)
def _working(d: date) -> tuple[bool, bool]:
    try:
        return bool(chinese_calendar.is_workday(d)), False
    except NotImplementedError:
        # Year not covered by the package's data: assume Monday-Friday.
        return d.weekday() < 5, True


def is_working_day(d: date | datetime) -> tuple[bool, bool]:
    """(working, estimated) for a local calendar date.

    A datetime is taken as an instant and converted to its Shanghai date.
    """
    return _working(_as_local_date(d))


def _check_count(n: int) -> None:
    if n < 1:
        raise ValueError(f"a working-day period needs at least 1 working day, got {n}")


def working_days_after(start: datetime, n: int) -> DayCount:
    """End of the n-th working day after the act at `start`.

    The period starts on the local day after the act (a day on which the act
    happens never counts, even if it is a working day) and ends at the end of
    its n-th working day.
    """
    _check_count(n)
    day = local_date(start)
    estimated = False
    counted = 0
    for _ in range(_MAX_WALK_DAYS):
        day += _ONE_DAY
        working, guess = _working(day)
        estimated = estimated or guess
        if working:
            counted += 1
            if counted == n:
                return DayCount(at=end_of_day(day), estimated=estimated)
    raise ValueError(f"no {n} working days found within {_MAX_WALK_DAYS} days of {start}")


def working_days_before(day: date | datetime, n: int) -> DayCount:
    """End of the working day that is n working days before `day`.

    `day` itself never counts (Art. 31: filed 5 working days *in advance*);
    e.g. a conference on Mon 12 Oct 2026 → 10 (adjusted Saturday), 9, 8 Oct,
    30, 29 Sep → filed by the end of Tue 29 Sep.
    """
    _check_count(n)
    current = _as_local_date(day)
    estimated = False
    counted = 0
    for _ in range(_MAX_WALK_DAYS):
        current -= _ONE_DAY
        working, guess = _working(current)
        estimated = estimated or guess
        if working:
            counted += 1
            if counted == n:
                return DayCount(at=end_of_day(current), estimated=estimated)
    raise ValueError(f"no {n} working days found within {_MAX_WALK_DAYS} days before {day}")


def one_month_after(start: datetime) -> DayCount:
    """End of the same day-of-month in the next month, clamped to its last day.

    31 Jan → end of 28 Feb (29 Feb in a leap year); 30 Jan → end of 28 Feb too.
    A calendar month ignores holidays, so the answer is never estimated. RULES
    says nothing about a month ending on a holiday; we do not extend it (the
    organ can report early), which keeps the period a plain calendar month.
    """
    d = local_date(start)
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    last = _gregorian.monthrange(year, month)[1]
    return DayCount(at=end_of_day(date(year, month, min(d.day, last))), estimated=False)


def start_of_quarter(at: datetime) -> datetime:
    """00:00 Asia/Shanghai on the first day of the local quarter containing `at`, in UTC."""
    d = local_date(at)
    first_month = (d.month - 1) // 3 * 3 + 1
    return end_of_day(date(d.year, first_month, 1) - _ONE_DAY)


def end_of_quarter(at: datetime) -> datetime:
    """End of the last day of the local quarter containing `at` (31 Mar, 30 Jun, 30 Sep, 31 Dec)."""
    d = local_date(at)
    last_month = ((d.month - 1) // 3 + 1) * 3
    return end_of_day(date(d.year, last_month, _gregorian.monthrange(d.year, last_month)[1]))


def due_day(due: datetime) -> date:
    """The local day a due time closes.

    A due at exactly 24:00 local (00:00 the next day) belongs to the day it ends,
    not to the next one; any other instant belongs to its own local date.
    """
    local = aware_utc(due, "due").astimezone(SHANGHAI)
    if local.time() == time(0):
        return local.date() - _ONE_DAY
    return local.date()


def previous_working_day_end(due: datetime, n: int = 1) -> DayCount:
    """End of the working day n working days before the day a due time closes.

    The working-day reminder of day-scale obligations: a due at the end of Thu
    8 Oct 2026 (first day back after National Day) is reminded at the end of Wed 30 Sep.
    """
    return working_days_before(due_day(due), n)
