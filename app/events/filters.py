"""Which events a caller may see: the same jurisdiction rule as the rest of the API.

An event is visible when it concerns a division inside the caller's jurisdiction (RULES §6:
the organ's division and every division below it), or when it names the caller's own organ
(a provincial department responsible for a county incident, an on-site command).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.auth import Principal


@dataclass(frozen=True)
class Audience:
    """What visibility depends on; callers sharing an organ share one answer per event."""

    org_id: str
    jurisdiction: frozenset[str]

    @classmethod
    def of(cls, principal: Principal) -> Audience:
        return cls(principal.org_id, principal.jurisdiction)

    def sees(self, division_codes: Iterable[str], org_id: str | None) -> bool:
        if org_id is not None and org_id == self.org_id:
            return True
        return any(code in self.jurisdiction for code in division_codes)
