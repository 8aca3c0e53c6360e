"""Bearer tokens bound to one organ and its roles; jurisdiction is that organ's divisions."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    reporter = "reporter"
    drafter = "drafter"
    reviewer = "reviewer"
    approver = "approver"
    info_office = "info_office"
    viewer = "viewer"
    admin = "admin"


TOKEN_PREFIX = "fabu_"


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # The token carries 256 random bits, so a plain SHA-256 is enough: no dictionary to guess
    # from, and a lookup by hash stays one indexed query.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    token_id: str | None
    org_id: str
    org_kind: str
    division_code: str
    roles: frozenset[str]
    jurisdiction: frozenset[str]

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def sees_any(self, division_codes: Iterable[str]) -> bool:
        return any(code in self.jurisdiction for code in division_codes)


def system_principal(org_id: str, division_code: str, jurisdiction: frozenset[str]) -> Principal:
    """The service acting on its own (scheduler, CLI), with every role."""
    return Principal(None, org_id, "system", division_code, frozenset(Role), jurisdiction)
