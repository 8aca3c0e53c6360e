"""Spokespersons and press assistants (Art. 7-9) and media interview requests (Art. 21)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Spokesperson(Base):
    """One appointment of a person to an organ's spokesperson or press-assistant post."""

    __tablename__ = "spokespersons"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    role: Mapped[str] = mapped_column(String(20))  # spokesperson, press_assistant
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))  # the post held in the organ
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Dates of the formal decision (Art. 7: appointed and removed by organisational procedure).
    appointed_on: Mapped[date]
    removed_on: Mapped[date | None] = mapped_column(nullable=True)
    removal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_at: Mapped[datetime]
    removal_recorded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class InterviewRequest(Base):
    """A reporter's request to interview an organ (Art. 21), and the organ's answer."""

    __tablename__ = "interview_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    reporter_name: Mapped[str] = mapped_column(String(200))
    outlet: Mapped[str] = mapped_column(String(300))
    press_card_number: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    decided_by_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    interview_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


Index("ix_spokespersons_org_role", Spokesperson.org_id, Spokesperson.role)
