"""Press conferences (Art. 28-35): the rostrum, the materials and the coverage after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class PressConference(Base):
    __tablename__ = "press_conferences"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    incident_id: Mapped[str | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )
    host_org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    # The host's division: jurisdiction filters read it.
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    title: Mapped[str] = mapped_column(String(500))
    venue: Mapped[str] = mapped_column(String(500))
    scheduled_at: Mapped[datetime] = mapped_column(index=True)
    # Art. 31(3): a prefecture's conference is filed only when the matter is significant.
    significant: Mapped[bool] = mapped_column(default=False)
    # Art. 31(1): a major matter needs the governor's approval, not the deputy governor's.
    major_matter: Mapped[bool] = mapped_column(default=False)
    # "scheduled" → "held" → "evaluated"
    status: Mapped[str] = mapped_column(String(16), index=True, default="scheduled")
    approval_required: Mapped[bool] = mapped_column(default=False)
    approval_article: Mapped[str | None] = mapped_column(String(16), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    approver_office: Mapped[str | None] = mapped_column(String(40), nullable=True)
    approver_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_by_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    filing_required: Mapped[bool] = mapped_column(default=False)
    filing_article: Mapped[str | None] = mapped_column(String(16), nullable=True)
    filed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    held_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    evaluated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    evaluation_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    texts_provided: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    created_by_org: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ConferenceSpeaker(Base):
    """A seat on the rostrum (Art. 32), in the order given."""

    __tablename__ = "conference_speakers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("press_conferences.id"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    org_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"), nullable=True)


class ConferenceMaterial(Base):
    """Press release, background, data index before (Art. 33); texts after."""

    __tablename__ = "conference_materials"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("press_conferences.id"), index=True)
    position: Mapped[int]  # order of adding, within the conference
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    release_id: Mapped[str | None] = mapped_column(ForeignKey("releases.id"), nullable=True)
    added_at: Mapped[datetime]
    added_by_org: Mapped[str] = mapped_column(String(64))


class CoverageItem(Base):
    """One media or online report collected for the after-action evaluation (Art. 35)."""

    __tablename__ = "conference_coverage"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("press_conferences.id"), index=True)
    position: Mapped[int]  # order of recording, within the conference
    outlet: Mapped[str] = mapped_column(String(300))
    medium: Mapped[str] = mapped_column(String(16))  # print, broadcast, online, social
    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)
    tone: Mapped[str] = mapped_column(String(16), default="neutral")  # positive, neutral, negative
    reach: Mapped[int | None] = mapped_column(nullable=True)
    recorded_at: Mapped[datetime]


Index("ix_press_conferences_host_held", PressConference.host_org_id, PressConference.held_at)
