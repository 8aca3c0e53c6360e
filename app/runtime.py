"""What one running instance holds: settings, database, clock and the derived services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.workflows.tokens import PrincipalCache


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    # Derived services register here (WebSocket hub, scheduler, delivery worker).
    services: dict[str, Any] = field(default_factory=dict)
    # Looked-up tokens, so a request does not cost a query (see PrincipalCache).
    principal_cache: PrincipalCache = field(init=False)

    def __post_init__(self) -> None:
        self.principal_cache = PrincipalCache(self.settings.token_cache_seconds)
