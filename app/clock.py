"""Time is injected: rules and workflows take a clock, tests move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from app.rules.calendar import SHANGHAI


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; used by tests and replays."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        self._now = at.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


def iso(at: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, as every response shows times."""
    if at is None:
        return None
    text = at.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def beijing(at: datetime) -> str:
    """`at` as a person at a Guizhou terminal reads it: local wall time to the second."""
    return f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}"
