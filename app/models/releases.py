"""Releases: drafts that pass their organ's work flow, then publications that never change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Release(Base):
    __tablename__ = "releases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    incident_id: Mapped[str | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )
    # The releasing organ: its drafter drafted it, its flow governs it.
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(JSON)
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    explanation: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Art. 16 differences from the record the explanation answers, as last checked.
    differences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    # Where the release belongs: the incident's divisions, or the organ's own.
    division_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The organ's work flow when the draft was made (Art. 27); it keeps it to the end.
    flow: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Index into `flow` of the step the release waits for; len(flow) once published.
    step_index: Mapped[int] = mapped_column(default=0)
    # Each submission starts a new round; a rejection ends one.
    round: Mapped[int] = mapped_column(default=0)
    # Other organs that confirm jointly (Art. 15), fixed when the release is submitted.
    co_signer_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    rejection: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime]
    created_by_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Tokens that drafted, edited or submitted it: none of them may approve it (Art. 15).
    author_tokens: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(nullable=True)
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    replaces_id: Mapped[str | None] = mapped_column(
        ForeignKey("releases.id"), nullable=True, index=True
    )
    # The item of regular information or the media-supervision matter it answers (Art. 20).
    subject_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Bumped by every act, so that two acts racing on one release collide on `version`.
    act_count: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ReleaseCoSigner(Base):
    """One row per co-signing organ of a release: lets a co-signer find what waits for it."""

    __tablename__ = "release_cosigners"

    release_id: Mapped[str] = mapped_column(ForeignKey("releases.id"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), primary_key=True, index=True)


class ReleaseAct(Base):
    """Who did which step of which round: the record that every step was passed."""

    __tablename__ = "release_acts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    release_id: Mapped[str] = mapped_column(ForeignKey("releases.id"), index=True)
    round: Mapped[int]
    step_index: Mapped[int]
    step: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    token_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    at: Mapped[datetime]
    # "done" for a step passed, "rejected" for one that ended the round.
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        # One organ acts once per step per round, whatever races.
        UniqueConstraint(
            "release_id", "round", "step_index", "org_id", name="uq_release_acts_once"
        ),
    )


class ReleaseFlow(Base):
    """An organ's own release work flow (Art. 27); organs without one use the default."""

    __tablename__ = "release_flows"

    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime]
    updated_by_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


Index("ix_releases_created_id", Release.created_at, Release.id)
