"""Request shapes for early warnings (Art. 24; CAP 1.2)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.publishing.cap import CapCategory, CapCertainty, CapResponseType, CapUrgency, Colour
from app.schemas.base import DivisionCode, Moment, Strict

Channel = Literal["website", "weibo", "wechat", "client"]


def _website() -> list[Channel]:
    # Art. 18: the government website is the first platform.
    return ["website"]


class WarningCreate(Strict):
    colour: Colour
    event: str = Field(min_length=1, max_length=200)
    areas: list[DivisionCode] = Field(min_length=1, max_length=200)
    onset: Moment
    expires: Moment | None = None
    instruction: str = Field(min_length=1, max_length=20_000)
    description: str = Field(min_length=1, max_length=20_000)
    headline: str | None = Field(default=None, max_length=500)
    category: CapCategory = "Other"
    urgency: CapUrgency = "Expected"
    certainty: CapCertainty = "Likely"
    response_types: list[CapResponseType] = Field(default_factory=list, max_length=9)
    incident_id: str | None = Field(default=None, max_length=40)
    channels: list[Channel] = Field(default_factory=_website, min_length=1)


class WarningUpdate(Strict):
    """A new message replacing the warning in force; fields left out stay as they were."""

    colour: Colour | None = None
    event: str | None = Field(default=None, min_length=1, max_length=200)
    areas: list[DivisionCode] | None = Field(default=None, min_length=1, max_length=200)
    onset: Moment | None = None
    expires: Moment | None = None
    instruction: str | None = Field(default=None, min_length=1, max_length=20_000)
    description: str | None = Field(default=None, min_length=1, max_length=20_000)
    headline: str | None = Field(default=None, max_length=500)
    urgency: CapUrgency | None = None
    certainty: CapCertainty | None = None
    response_types: list[CapResponseType] | None = Field(default=None, max_length=9)
    reason: str = Field(min_length=1, max_length=2000)
    channels: list[Channel] = Field(default_factory=_website, min_length=1)


class WarningCancel(Strict):
    reason: str = Field(min_length=1, max_length=2000)
    channels: list[Channel] = Field(default_factory=_website, min_length=1)
