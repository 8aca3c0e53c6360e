"""Obligations with clocks (RULES §3), the timers the scheduler fires, what a breach leaves
behind for Art. 39, and the lease that lets exactly one instance schedule."""

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
    # How the due time was reached, in words (the rule's reason), for the timeline.
    due_reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    met_at: Mapped[datetime | None] = mapped_column(nullable=True)
    met_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    breached_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The information office one level up that a breach was escalated to (RULES §3).
    escalated_to_org_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    calendar_estimated: Mapped[bool] = mapped_column(default=False)
    accountable: Mapped[bool] = mapped_column(default=True)


# The safety net looks for pending obligations past their due time.
Index("ix_obligations_status_due", Obligation.status, Obligation.due_at)
Index("ix_obligations_subject", Obligation.subject_type, Obligation.subject_id)


class ObligationTimer(Base):
    """A reminder or a breach check; fired once by a conditional update.

    `fired_at` set means the timer is spent; `outcome` says how: "fired" (its event was
    written), or "met", "cancelled", "rescheduled" when the obligation no longer needed it.
    `late_seconds` is how long after `fire_at` it fired (a restart after downtime).
    """

    __tablename__ = "obligation_timers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    obligation_id: Mapped[str] = mapped_column(ForeignKey("obligations.id"), index=True)
    name: Mapped[str] = mapped_column(String(16))  # "60m", "30m", "10m", "1wd", "breach"
    fire_at: Mapped[datetime]
    fired_at: Mapped[datetime | None] = mapped_column(nullable=True)
    late_seconds: Mapped[float | None] = mapped_column(nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Which scheduler instance fired it (lease holder), for the record.
    fired_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


# Only unfired timers matter to the scheduler: a partial index keeps "the next fire_at"
# (MIN over unfired rows) one index probe however many spent timers accumulate, and the
# due batch (ORDER BY fire_at, id) an index walk.
Index(
    "ix_obligation_timers_pending",
    ObligationTimer.fire_at,
    ObligationTimer.id,
    postgresql_where=ObligationTimer.fired_at.is_(None),
    sqlite_where=ObligationTimer.fired_at.is_(None),
)


class AccountabilityRecord(Base):
    """Art. 39(1): an accountable obligation was not met in the prescribed time.

    One row per breached obligation, written in the same transaction as the breach.
    `detected_late_seconds` is how long after the due time the breach was recorded (a
    scheduler that was down); `met_at` and `lateness_seconds` (met_at - due_at) are filled
    in when the obligation is finally met, since meeting it late still counts (RULES §3).
    """

    __tablename__ = "accountability_records"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    obligation_id: Mapped[str] = mapped_column(ForeignKey("obligations.id"), unique=True)
    incident_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    division_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(32))
    # The article that set the clock (Art. 23, 31(2)...); `article` is the one that holds to
    # account (Art. 39(1)).
    obligation_article: Mapped[str] = mapped_column(String(32))
    article: Mapped[str] = mapped_column(String(32), default="Art. 39(1)")
    due_at: Mapped[datetime]
    breached_at: Mapped[datetime] = mapped_column(index=True)
    detected_late_seconds: Mapped[float] = mapped_column(default=0.0)
    escalated_to_org_id: Mapped[str] = mapped_column(String(64))
    met_at: Mapped[datetime | None] = mapped_column(nullable=True)
    lateness_seconds: Mapped[float | None] = mapped_column(nullable=True)


class SchedulerLease(Base):
    """Who schedules: claimed and renewed with a conditional update (SQLite and PostgreSQL)."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]
