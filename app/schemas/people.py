"""Request shapes for spokespersons (Art. 7-9) and interview requests (Art. 21)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from app.schemas.base import Moment, Strict

SpokespersonRole = Literal["spokesperson", "press_assistant"]
# The Measures date from 2016; records reach back to the spokesperson system's start.
EARLIEST = dt.date(2000, 1, 1)


class SpokespersonCreate(Strict):
    org_id: str | None = Field(default=None, max_length=64)
    role: SpokespersonRole
    name: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=300)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[0-9+()\- ]+$")
    appointed_on: dt.date = Field(ge=EARLIEST)


class SpokespersonRemove(Strict):
    removed_on: dt.date = Field(ge=EARLIEST)
    reason: str = Field(min_length=1, max_length=2000)


class InterviewCreate(Strict):
    org_id: str | None = Field(default=None, max_length=64)
    reporter_name: str = Field(min_length=1, max_length=200)
    outlet: str = Field(min_length=1, max_length=300)
    # Art. 21: the reporter shows a valid press card; its number is recorded.
    press_card_number: str = Field(min_length=6, max_length=40, pattern=r"^[A-Za-z0-9\-]+$")
    subject: str = Field(min_length=1, max_length=5000)
    requested_at: Moment | None = None
    incident_id: str | None = Field(default=None, max_length=40)


class InterviewAccept(Strict):
    interview_at: Moment | None = None
    note: str = Field(default="", max_length=2000)


class InterviewDecline(Strict):
    reason: str = Field(min_length=1, max_length=2000)
