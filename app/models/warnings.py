"""Early warnings (Art. 24): one row per CAP message; updates and cancels chain to the first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class EarlyWarning(Base):
    __tablename__ = "early_warnings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The first message of the chain (itself for an Alert); updates and cancels share it.
    chain_id: Mapped[str] = mapped_column(String(40), index=True)
    # The message this one updates or cancels (CAP <references> lists the whole chain).
    references_id: Mapped[str | None] = mapped_column(
        ForeignKey("early_warnings.id"), nullable=True
    )
    msg_type: Mapped[str] = mapped_column(String(8))  # Alert, Update, Cancel
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)  # the issuing organ's
    incident_id: Mapped[str | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )
    colour: Mapped[str] = mapped_column(String(8))  # red, orange, yellow, blue
    event: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))  # CAP category
    urgency: Mapped[str] = mapped_column(String(16))
    certainty: Mapped[str] = mapped_column(String(16))
    response_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    headline: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    instruction: Mapped[str] = mapped_column(Text)
    # [{"code": GB/T 2260, "desc": name}, ...]
    areas: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    onset: Mapped[datetime | None] = mapped_column(nullable=True)
    expires: Mapped[datetime | None] = mapped_column(nullable=True)
    # GB/T 35965.1 identifier, fixed when the message is entered.
    identifier: Mapped[str] = mapped_column(String(40), unique=True)
    sender: Mapped[str] = mapped_column(String(100))
    # The message is published when its release is (Art. 24 warnings pass the release work
    # flow): its state is read from the release, never kept twice.
    release_id: Mapped[str] = mapped_column(ForeignKey("releases.id"), index=True)
    # When `warning.published` was announced for it (guards against announcing twice).
    announced_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime]
    created_by_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


Index("ix_early_warnings_org_created", EarlyWarning.org_id, EarlyWarning.created_at)
# The feed reads the chains with a message not yet expired.
Index("ix_early_warnings_expires", EarlyWarning.expires)
