"""A few counters and gauges in the Prometheus text format; no library needed for this few.

Every counter is declared below and shown from start, at 0 until it first counts: an alert
rule on a series that is absent sees "no data" rather than a zero, and a rate over a
series that appears only at its first increment misses that increment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Counter:
    help: str
    # A counter split by one label, with the values it can take shown at 0 from start;
    # another value still counts, and appears once it does.
    label: str | None = None
    values: tuple[str, ...] = ()


COUNTERS: dict[str, Counter] = {
    # app.group_commit
    "fabu_group_commits_total": Counter("Group-commit transactions committed."),
    "fabu_group_commit_writes_total": Counter("Writes those transactions carried."),
    # app.scheduler.service
    "fabu_obligation_reminders_total": Counter("Obligation reminders fired."),
    "fabu_obligation_breaches_total": Counter("Obligations breached."),
    "fabu_scheduler_late_firings_total": Counter(
        "Timers fired late (the scheduler was down or stalled)."
    ),
    "fabu_scheduler_lost_races_total": Counter("Timers another instance fired first."),
    "fabu_scheduler_safety_net_total": Counter(
        "Pending obligations found past due by the safety net (a lost job, a stall)."
    ),
    # app.workflows.webhooks
    "fabu_webhook_deliveries_queued_total": Counter("Webhook deliveries queued from the event log"),
    "fabu_webhook_attempts_total": Counter(
        "Webhook delivery attempts by outcome",
        label="outcome",
        # app.publishing.policy.Classification
        values=("delivered", "disable", "retry", "retry_after"),
    ),
    "fabu_webhook_dead_letters_total": Counter("Webhook deliveries dead-lettered"),
    # app.routers.live
    "fabu_live_closed_total": Counter(
        "WebSocket closes by code",
        label="code",
        # The close codes of app.events.hub and app.routers.live.
        values=("1011", "1012", "1013", "4008", "4400", "4401"),
    ),
}

_counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
_help: dict[str, str] = {name: c.help for name, c in COUNTERS.items()}
_gauges: dict[str, Callable[[], float]] = {}


def inc(name: str, amount: float = 1.0, **labels: str) -> None:
    """Count; `name` must be declared in COUNTERS, with its help."""
    if name not in COUNTERS:
        raise ValueError(f"counter {name!r} is not declared in app.metrics.COUNTERS")
    _counters[(name, tuple(sorted(labels.items())))] += amount


def gauge(name: str, read: Callable[[], float], help_: str = "") -> None:
    _gauges[name] = read
    if help_:
        _help.setdefault(name, help_)


def value(name: str, **labels: str) -> float:
    return _counters.get((name, tuple(sorted(labels.items()))), 0.0)


def _series() -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every counter's series: the declared ones at 0, overlaid with what was counted."""
    series: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for name, counter in COUNTERS.items():
        if counter.label is None:
            series[name] = {(): 0.0}
        else:
            series[name] = {((counter.label, v),): 0.0 for v in counter.values}
    for (name, labels), amount in _counters.items():
        series.setdefault(name, {})[labels] = amount
    return series


def render() -> str:
    lines: list[str] = []
    for name, by_labels in sorted(_series().items()):
        if name in _help:
            lines.append(f"# HELP {name} {_help[name]}")
        lines.append(f"# TYPE {name} counter")
        for labels, amount in sorted(by_labels.items()):
            label_text = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(f"{name}{{{label_text}}} {amount}" if label_text else f"{name} {amount}")
    for name, read in sorted(_gauges.items()):
        if name in _help:
            lines.append(f"# HELP {name} {_help[name]}")
        lines.append(f"# TYPE {name} gauge")
        lines.append(f"{name} {read()}")
    return "\n".join(lines) + "\n"
