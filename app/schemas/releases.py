"""Request shapes for releases and release work flows (API.md, Releases)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, NonNegativeInt, field_validator

from app.auth import Role
from app.rules.releases import Channel, ReleaseKind, StepKind
from app.schemas.base import Moment, Strict

Text = Annotated[str, Field(max_length=5000)]


class Casualties(Strict):
    deaths: NonNegativeInt | None = None
    injured: NonNegativeInt | None = None
    missing: NonNegativeInt | None = None
    # People involved or trapped (Art. 23).
    involved: NonNegativeInt | None = None


class Facts(Strict):
    """Structured facts; which of them a kind must carry is app.rules.releases' business."""

    time: Moment | None = None
    place: Text | None = None
    site_conditions: Text | None = None
    casualties: Casualties | None = None
    measures: Text | None = None
    # Art. 24 summary.
    causes: Text | None = None
    losses: Text | None = None
    relief: Text | None = None


def _unique_channels(value: list[Channel]) -> list[Channel]:
    seen: list[Channel] = []
    for channel in value:
        if channel not in seen:
            seen.append(channel)
    return seen


class ReleaseCreate(Strict):
    kind: ReleaseKind
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=100_000)
    channels: list[Channel] = Field(min_length=1, max_length=4)
    facts: Facts | None = None
    # Art. 16: why a figure differs from the record.
    explanation: str | None = Field(default=None, max_length=5000)
    # A correction or retraction names the publication it replaces (RULES §4).
    replaces_id: str | None = Field(default=None, max_length=40)
    # regular_info / media_supervision_response: the item or matter it answers (Art. 20).
    subject_id: str | None = Field(default=None, min_length=1, max_length=40)
    # Other organs the content concerns, who confirm jointly (Art. 15); the incident's
    # co-signers are added without being named.
    co_signers: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=20
    )

    @field_validator("channels")
    @classmethod
    def _dedupe(cls, value: list[Channel]) -> list[Channel]:
        return _unique_channels(value)


class ReleaseEdit(Strict):
    """Changes to a draft (or a rejected release) before it is submitted again."""

    title: str | None = Field(default=None, min_length=1, max_length=500)
    body: str | None = Field(default=None, min_length=1, max_length=100_000)
    channels: list[Channel] | None = Field(default=None, min_length=1, max_length=4)
    facts: Facts | None = None
    explanation: str | None = Field(default=None, max_length=5000)
    co_signers: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=20
    )

    @field_validator("channels")
    @classmethod
    def _dedupe(cls, value: list[Channel] | None) -> list[Channel] | None:
        return None if value is None else _unique_channels(value)


class Review(Strict):
    passed: bool
    note: str = Field(default="", max_length=5000)


class Note(Strict):
    note: str = Field(default="", max_length=5000)


class Reason(Strict):
    reason: str = Field(min_length=1, max_length=5000)


class FlowStepIn(Strict):
    step: StepKind
    role: Role
    co_signers: bool = False


class FlowSet(Strict):
    steps: list[FlowStepIn] = Field(min_length=1, max_length=50)
