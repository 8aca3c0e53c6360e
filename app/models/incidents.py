"""Incidents, their situation reports and the history of who was responsible."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    subtype: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(500), default="")
    location: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="active")
    occurred_at: Mapped[datetime]
    reported_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(index=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    division_codes: Mapped[list[str]] = mapped_column(JSON)
    prefecture_code: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    criteria: Mapped[list[str]] = mapped_column(JSON, default=list)
    asserted_level: Mapped[str | None] = mapped_column(String(4), nullable=True)
    asserted_basis: Mapped[str | None] = mapped_column(Text, nullable=True)
    level: Mapped[str] = mapped_column(String(4), index=True)
    level_basis: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Art. 23 counts from when facts first put the incident at a level: {"II": iso time, ...}
    level_known_at: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    public_opinion: Mapped[str] = mapped_column(String(16), default="none")
    public_opinion_major_at: Mapped[datetime | None] = mapped_column(nullable=True)
    responsible_org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    responsible_kind: Mapped[str] = mapped_column(String(40))
    co_signer_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    on_site_command_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"), nullable=True)
    on_site_command_active: Mapped[bool] = mapped_column(default=False)
    command_established_at: Mapped[datetime | None] = mapped_column(nullable=True)
    escalated: Mapped[bool] = mapped_column(default=False)
    escalated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reporter_org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    last_significant_change_at: Mapped[datetime | None] = mapped_column(nullable=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class IncidentDivision(Base):
    """One row per division an incident touches: jurisdiction filters join on it."""

    __tablename__ = "incident_divisions"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    division_code: Mapped[str] = mapped_column(String(12), primary_key=True, index=True)


class SituationReport(Base):
    __tablename__ = "situation_reports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    reported_at: Mapped[datetime]
    received_at: Mapped[datetime]
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    public_opinion: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))


class ResponsibilityChange(Base):
    __tablename__ = "responsibility_changes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime]
    from_org_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to_org_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    cause: Mapped[str] = mapped_column(Text)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


Index("ix_incidents_created_id", Incident.created_at, Incident.id)
