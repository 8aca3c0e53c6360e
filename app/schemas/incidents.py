"""Request shapes for incidents (API.md, Incidents). Responses are built in app.views."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt

from app.rules.levels import Category
from app.schemas.base import DivisionCode, LevelName, Moment
from app.schemas.base import Strict as Strict  # older imports of the base find it here

PublicOpinion = Literal["none", "rising", "major"]
Figures = dict[Annotated[str, Field(max_length=64)], NonNegativeInt]


class Location(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class IncidentCreate(Strict):
    category: Category
    subtype: str | None = Field(default=None, max_length=64)
    title: str = Field(min_length=1, max_length=500)
    occurred_at: Moment
    reported_at: Moment | None = None
    division_codes: list[DivisionCode] = Field(min_length=1, max_length=50)
    place: str = Field(default="", max_length=500)
    location: Location | None = None
    figures: Figures = Field(default_factory=dict)
    asserted_level: LevelName | None = None
    asserted_basis: str | None = Field(default=None, max_length=2000)
    criteria: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=20
    )
    public_opinion: PublicOpinion = "none"
    description: str = Field(default="", max_length=20000)


class SituationReportCreate(Strict):
    reported_at: Moment | None = None
    figures: Figures = Field(default_factory=dict)
    public_opinion: PublicOpinion | None = None
    asserted_level: LevelName | None = None
    asserted_basis: str | None = Field(default=None, max_length=2000)
    criteria: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=20
    )
    note: str = Field(default="", max_length=20000)


class CommandAction(Strict):
    action: Literal["establish", "stand_down"]
    name: str | None = Field(default=None, max_length=200)


class Reason(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class ClassificationOverride(Strict):
    level: LevelName
    reason: str = Field(min_length=1, max_length=2000)
