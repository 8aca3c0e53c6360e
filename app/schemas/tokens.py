from __future__ import annotations

from pydantic import Field

from app.auth import Role
from app.schemas.base import Strict


class TokenCreate(Strict):
    org_id: str = Field(min_length=1, max_length=64)
    roles: list[Role] = Field(min_length=1, max_length=7)
    name: str = Field(default="", max_length=200)
