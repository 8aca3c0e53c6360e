"""The ordered, append-only event log (the outbox) and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base


class Event(Base):
    __tablename__ = "events"

    # BigInteger on PostgreSQL, plain INTEGER PRIMARY KEY (rowid) on SQLite.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # Unique and set by the client: lets batched INSERT ... RETURNING keep the order of rows.
    id: Mapped[str] = mapped_column(String(40), unique=True, insert_sentinel=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime]
    incident_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    org_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Divisions the event concerns; jurisdiction filters read them.
    division_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime]
    event_seq: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.seq"), nullable=True
    )
    event: Mapped[Event | None] = relationship(lazy="raise")
    token_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    org_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    incident_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(2000), nullable=True)
