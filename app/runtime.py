"""What one running instance holds: settings, database, clock and the derived services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.clock import Clock
from app.config import Settings
from app.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    # Derived services register here (WebSocket hub, scheduler, delivery worker).
    services: dict[str, Any] = field(default_factory=dict)
