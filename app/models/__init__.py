"""Every table, imported so that Base.metadata knows them all."""

from app.models import conferences, people, warnings, webhooks  # noqa: F401  (tables)
from app.models.auth import ApiToken
from app.models.base import Base
from app.models.directory import Division, Org
from app.models.events import AuditEntry, Event
from app.models.incidents import (
    IdempotencyKey,
    Incident,
    IncidentDivision,
    ResponsibilityChange,
    SituationReport,
)
from app.models.obligations import Obligation, ObligationTimer
from app.models.releases import Release

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Division",
    "Event",
    "IdempotencyKey",
    "Incident",
    "IncidentDivision",
    "Obligation",
    "ObligationTimer",
    "Org",
    "Release",
    "ResponsibilityChange",
    "SituationReport",
]
