"""Every event type the service writes, and how a subscription may name them.

The log's writer refuses a type not listed here, so the list cannot fall behind the code
without a test noticing; webhook subscriptions are checked against it, so a misspelt type
is refused at once instead of never firing.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EVENT_TYPES: frozenset[str] = frozenset(
    {
        # app.workflows.incidents: intake (POST /incidents).
        "incident.reported",
        # app.workflows.incidents: a situation report, a command, an escalation, a
        # classification override or the closing changed the incident.
        "incident.updated",
        # app.workflows.incidents: a situation report or an override moved the level.
        "incident.level_changed",
        # app.workflows.incidents.route: Art. 22/25 now name another responsible organ.
        "incident.responsibility_changed",
        # app.workflows.incidents.escalate, and the scheduler when an accountable clock breaches.
        "escalation.raised",
        # app.workflows.obligations: a clock opened (intake, registration, a conference...).
        "obligation.created",
        # app.workflows.obligations: a pending obligation's due time moved.
        "obligation.rescheduled",
        # app.workflows.obligations: no longer owed (the incident closed or its level fell).
        "obligation.cancelled",
        # app.workflows.obligations.meet: the first qualifying act came.
        "obligation.met",
        # app.scheduler.firing: a reminder ahead of the due time.
        "obligation.reminder",
        # app.scheduler.firing: the due time passed unmet.
        "obligation.breached",
        # app.workflows.releases: the steps of a release's work flow (Art. 15, 27, 39).
        "release.drafted",
        "release.edited",
        "release.submitted",
        "release.reviewed",
        "release.rejected",
        "release.approved",
        "release.cosigned",
        "release.published",
        # app.workflows.releases: a correction or retraction took the earlier one back.
        "release.retracted",
        # app.workflows.releases.retract: a release taken back before it was published.
        "release.withdrawn",
        # app.workflows.releases: PUT /orgs/{id}/release-flow changed an organ's Art. 27 flow.
        "release_flow.updated",
        # app.workflows.conferences: a press conference's course (Art. 29-35).
        "conference.scheduled",
        "conference.approved",
        "conference.material_added",
        "conference.filed",
        "conference.held",
        "conference.evaluated",
        # app.workflows.warnings: an Art. 24 warning message drafted, then published.
        "warning.drafted",
        "warning.published",
        # app.workflows.people: the spokesperson roster (Art. 9).
        "spokesperson.appointed",
        "spokesperson.removed",
        # app.workflows.people: a media interview request and the organ's answer.
        "interview.requested",
        "interview.accepted",
        "interview.declined",
    }
)

# The part before the first dot: what `family.*` may name.
FAMILIES: frozenset[str] = frozenset(t.partition(".")[0] for t in EVENT_TYPES)

EVERYTHING = "*"


def writable(type_: str) -> bool:
    """Whether the log may hold an event of this type."""
    return type_ in EVENT_TYPES


def known(pattern: str) -> bool:
    """Whether `pattern` names some event this service writes: a type, `family.*` or `*`."""
    if pattern == EVERYTHING or pattern in EVENT_TYPES:
        return True
    return pattern.endswith(".*") and pattern[:-2] in FAMILIES


def matches(patterns: Iterable[str], type_: str) -> bool:
    """Whether any of a subscription's `patterns` names an event of this type."""
    for pattern in patterns:
        if pattern in (EVERYTHING, type_):
            return True
        if pattern.endswith(".*") and type_.startswith(pattern[:-1]):
            return True
    return False


def _wildcards() -> list[str]:
    return sorted(f"{family}.*" for family in FAMILIES)


def known_patterns() -> list[str]:
    """What a subscription may name: every type, every family's wildcard and `*`."""
    return [EVERYTHING, *_wildcards(), *sorted(EVENT_TYPES)]


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` names no event this service writes, or None when it names some."""
    if known(pattern):
        return None
    close = difflib.get_close_matches(pattern.lower(), known_patterns(), n=3, cutoff=0.8)
    kind = "family" if pattern.endswith(".*") else "event type"
    if close:
        return f"unknown {kind} {pattern!r}; did you mean {', '.join(close)}?"
    return (
        f"unknown {kind} {pattern!r}; name an event type (see known_event_types), "
        f"one of {', '.join(_wildcards())}, or *"
    )


def pattern_errors(patterns: Iterable[str], field: str) -> list[dict[str, str]]:
    """One problem `errors` item per pattern naming nothing, as `field[i]`."""
    found = []
    for i, pattern in enumerate(patterns):
        message = pattern_error(pattern)
        if message is not None:
            found.append({"field": f"{field}[{i}]", "message": message})
    return found
