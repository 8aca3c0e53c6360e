"""Obligations with clocks (RULES §3) and the timers the scheduler fires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Obligation(Base):
    __tablename__ = "obligations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    incident_id: Mapped[str | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )
    # What the obligation is about when it is not an incident (a conference, a spokesperson...).
    subject_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    subject_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    division_code: Mapped[str] = mapped_column(String(12))
    article: Mapped[str] = mapped_column(String(32))
    scale: Mapped[str] = mapped_column(String(8), default="hours")
    created_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    met_at: Mapped[datetime | None] = mapped_column(nullable=True)
    met_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    breached_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    calendar_estimated: Mapped[bool] = mapped_column(default=False)
    accountable: Mapped[bool] = mapped_column(default=True)


class ObligationTimer(Base):
    """A reminder or a breach check; fired once by a conditional update."""

    __tablename__ = "obligation_timers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    obligation_id: Mapped[str] = mapped_column(ForeignKey("obligations.id"), index=True)
    name: Mapped[str] = mapped_column(String(16))  # "60m", "30m", "10m", "1wd", "breach"
    fire_at: Mapped[datetime]
    fired_at: Mapped[datetime | None] = mapped_column(nullable=True)
    late_seconds: Mapped[float | None] = mapped_column(nullable=True)


Index("ix_obligation_timers_pending", ObligationTimer.fired_at, ObligationTimer.fire_at)
