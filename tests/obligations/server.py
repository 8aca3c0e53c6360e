"""A test-only app factory for real server processes, with the clock shifted.

`python -m uvicorn --factory tests.obligations.server:create` builds the ordinary app from
the FABU_* environment, except that its runtime clock runs FABU_TEST_CLOCK_OFFSET_SECONDS
ahead of the system clock. Restarting a killed process with a larger offset is "the
service was down that long": whatever fell due meanwhile must fire once, marked late.
Production has no such knob; only these tests import this module.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from app.config import Settings
from app.main import create_app

OFFSET_ENV = "FABU_TEST_CLOCK_OFFSET_SECONDS"


class OffsetClock:
    def __init__(self, offset_seconds: float) -> None:
        self.offset = timedelta(seconds=offset_seconds)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def create() -> FastAPI:
    return create_app(Settings(), clock=OffsetClock(float(os.environ.get(OFFSET_ENV, "0"))))
