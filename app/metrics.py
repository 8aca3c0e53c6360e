"""A few counters and gauges in the Prometheus text format; no library needed for this few."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

_counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
_help: dict[str, str] = {}
_gauges: dict[str, Callable[[], float]] = {}


def inc(name: str, amount: float = 1.0, help_: str = "", **labels: str) -> None:
    _counters[(name, tuple(sorted(labels.items())))] += amount
    if help_:
        _help.setdefault(name, help_)


def gauge(name: str, read: Callable[[], float], help_: str = "") -> None:
    _gauges[name] = read
    if help_:
        _help.setdefault(name, help_)


def value(name: str, **labels: str) -> float:
    return _counters.get((name, tuple(sorted(labels.items()))), 0.0)


def render() -> str:
    lines: list[str] = []
    seen: set[str] = set()
    for (name, labels), amount in sorted(_counters.items()):
        if name not in seen:
            seen.add(name)
            if name in _help:
                lines.append(f"# HELP {name} {_help[name]}")
            lines.append(f"# TYPE {name} counter")
        label_text = ",".join(f'{k}="{v}"' for k, v in labels)
        lines.append(f"{name}{{{label_text}}} {amount}" if label_text else f"{name} {amount}")
    for name, read in sorted(_gauges.items()):
        if name in _help:
            lines.append(f"# HELP {name} {_help[name]}")
        lines.append(f"# TYPE {name} gauge")
        lines.append(f"{name} {read()}")
    return "\n".join(lines) + "\n"
