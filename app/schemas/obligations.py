"""Request bodies for the Art. 20 items an organ registers itself (RULES §3)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from app.rules.obligations import ObligationKind
from app.schemas.base import Moment, Strict


class RegularInfoItem(Strict):
    """An item of regular government information that has passed production and review."""

    subject_id: str = Field(min_length=1, max_length=40)
    reviewed_at: Moment | None = None  # default: now

    kind: ClassVar[ObligationKind] = ObligationKind.regular_info
    time_field: ClassVar[str] = "reviewed_at"

    def happened_at(self) -> datetime | None:
        return self.reviewed_at


class MediaSupervisionMatter(Strict):
    """A matter raised by media supervision, registered by the organ that must answer it."""

    subject_id: str = Field(min_length=1, max_length=40)
    registered_at: Moment | None = None  # default: now

    kind: ClassVar[ObligationKind] = ObligationKind.media_supervision
    time_field: ClassVar[str] = "registered_at"

    def happened_at(self) -> datetime | None:
        return self.registered_at


OwnItem = RegularInfoItem | MediaSupervisionMatter
