"""Request shapes for press conferences (API.md; Art. 28-35)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt

from app.rules.conferences import Approver, MaterialKind
from app.schemas.base import Moment, Strict


class Speaker(Strict):
    name: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=300)
    org_id: str | None = Field(default=None, max_length=64)


class ConferenceCreate(Strict):
    incident_id: str | None = Field(default=None, max_length=40)
    title: str = Field(min_length=1, max_length=500)
    scheduled_at: Moment
    venue: str = Field(min_length=1, max_length=500)
    host_org_id: str = Field(min_length=1, max_length=64)
    # The length limit of Art. 32 is checked by the rules, so the refusal names the article.
    speakers: list[Speaker] = Field(min_length=1, max_length=50)
    significant: bool = False
    major_matter: bool = False


class ConferenceApproval(Strict):
    approver_office: Approver
    approver_name: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=2000)


class MaterialCreate(Strict):
    kind: MaterialKind
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=200_000)
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    release_id: str | None = Field(default=None, max_length=40)


class ConferenceHold(Strict):
    note: str = Field(default="", max_length=2000)


class Coverage(Strict):
    outlet: str = Field(min_length=1, max_length=300)
    medium: Literal["print", "broadcast", "online", "social"]
    title: str = Field(min_length=1, max_length=500)
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    published_at: Moment | None = None
    tone: Literal["positive", "neutral", "negative"] = "neutral"
    reach: NonNegativeInt | None = None


class ConferenceEvaluation(Strict):
    summary: str = Field(min_length=1, max_length=20_000)
    texts_provided: bool = False
    coverage: list[Coverage] = Field(default_factory=list, max_length=500)
