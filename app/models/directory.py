"""Divisions (GB/T 2260) and the organs of the province."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Division(Base):
    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(String(12), nullable=True)


class Org(Base):
    """An organ: a government, an information office, a department or an on-site command."""

    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"), nullable=True)
    # Department key for provincial departments acting as disposal authorities.
    department_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # Art. 29: departments under the routine release system hold a conference each quarter.
    routine_release: Mapped[bool] = mapped_column(default=False)
