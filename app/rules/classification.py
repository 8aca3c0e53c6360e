"""Severity classification of an incident (RULES §1; Measures Art. 22, 25).

The level is the highest that any single criterion reaches: a row of the
category's threshold table, a named criterion the reporter picked, or a level
the reporter asserted with a written basis. The basis keeps every criterion
that counted, so "why is this level II" stays on the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.rules.levels import Category, Level, max_level, rank
from app.rules.thresholds import (
    FIGURE_NAMES,
    THRESHOLD_TABLES,
    NamedCriterion,
    ThresholdRow,
    ThresholdTable,
    UnknownSubtype,
    named_criteria,
    resolve_subtype,
)

__all__ = [
    "BasisItem",
    "Classification",
    "UnknownCriterion",
    "UnknownFigure",
    "UnknownSubtype",
    "classify",
    "next_level_after_facts",
]


class UnknownCriterion(ValueError):
    def __init__(self, category: Category, subtype: str | None, criterion: str) -> None:
        where = f"{category}/{subtype}" if subtype else str(category)
        super().__init__(f"unknown criterion {criterion!r} for {where}")
        self.category = category
        self.subtype = subtype
        self.criterion = criterion


class UnknownFigure(ValueError):
    def __init__(self, figure: str) -> None:
        super().__init__(f"unknown figure {figure!r}; known: {', '.join(sorted(FIGURE_NAMES))}")
        self.figure = figure


@dataclass(frozen=True)
class BasisItem:
    criterion: str
    value: int | str
    level: Level
    source: str


@dataclass(frozen=True)
class Classification:
    level: Level
    basis: tuple[BasisItem, ...]  # most severe first
    computed_level: Level | None  # None: no table for the subtype and no criterion picked
    asserted_level: Level | None
    missing_counted_as_deaths: bool


ASSERTED = "asserted"
_NOTHING_REACHED = "no criterion picked and no level asserted → IV"
_NOTHING_REACHED_SOURCE = "RULES §1: the general level (IV) is the floor"


def classify(
    category: Category,
    subtype: str | None,
    figures: Mapping[str, int],
    *,
    asserted_level: Level | None = None,
    asserted_basis: str | None = None,
    criteria: Sequence[str] = (),
    tables: Mapping[tuple[Category, str], ThresholdTable] = THRESHOLD_TABLES,
) -> Classification:
    """Classify an incident from its figures, picked criteria and asserted level.

    `tables` replaces the shipped threshold tables (configuration, tests).
    """
    category = Category(category)
    table = tables.get((category, resolve_subtype(category, subtype)))
    _check_figures(figures)
    if isinstance(criteria, str):
        raise TypeError("criteria is a sequence of criterion keys, not one string")
    assertion = _assertion(asserted_level, asserted_basis)

    computed: list[BasisItem] = []
    counted_missing = False
    if table is not None:
        counted_missing = table.missing_counts_as_deaths and _uses_deaths(table)
        computed += _table_basis(table, figures)
    computed += _criteria_basis(category, subtype, criteria)

    computed_level: Level | None
    if computed:
        computed_level = max_level(*(item.level for item in computed))
    elif table is not None:
        computed_level = Level.IV
        computed.append(_below_thresholds(table, figures))
    else:
        computed_level = None

    basis = list(computed)
    if assertion is not None:
        basis.append(assertion)
    if not basis:
        basis.append(BasisItem(_NOTHING_REACHED, "", Level.IV, _NOTHING_REACHED_SOURCE))

    # sorted() is stable: within a level, table rows, then picked criteria, then the assertion.
    basis.sort(key=lambda item: -rank(item.level))
    return Classification(
        level=max_level(*(item.level for item in basis)),
        basis=tuple(basis),
        computed_level=computed_level,
        asserted_level=assertion.level if assertion is not None else None,
        missing_counted_as_deaths=counted_missing,
    )


def next_level_after_facts(current: Level | None, computed: Classification) -> Level:
    """The incident's level after new facts: raised at once, never lowered.

    RULES §1: lowering needs an approver's or information office's decision with a
    written reason, which is a separate, audited act, not a side effect of new facts.
    """
    if current is None:
        return computed.level
    return max_level(current, computed.level)


def _assertion(level: Level | None, basis: str | None) -> BasisItem | None:
    if level is None:
        if basis is not None:
            raise ValueError("an asserted basis without an asserted level")
        return None
    # RULES §1: a reporter may assert a level, but only with its basis in writing.
    if basis is None or not basis.strip():
        raise ValueError("an asserted level needs a written basis (RULES §1)")
    return BasisItem(ASSERTED, basis.strip(), Level(level), "reporter")


def _check_figures(figures: Mapping[str, int]) -> None:
    for name, value in figures.items():
        if name not in FIGURE_NAMES:
            raise UnknownFigure(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"figure {name!r} must be a whole number ≥ 0, got {value!r}")


def _uses_deaths(table: ThresholdTable) -> bool:
    return any("deaths" in row.figures for row in table.rows)


def _figure(table: ThresholdTable, figures: Mapping[str, int], name: str) -> int:
    value = figures.get(name, 0)
    if name == "deaths" and table.missing_counts_as_deaths:
        value += figures.get("missing", 0)
    return value


def _figure_label(table: ThresholdTable, name: str) -> str:
    if name == "deaths" and table.missing_counts_as_deaths:
        return "deaths incl. missing"
    return name


def _reached(table: ThresholdTable, row: ThresholdRow, figures: Mapping[str, int]) -> bool:
    return all(_figure(table, figures, c.figure) >= c.minimum for c in row.conditions)


def _table_basis(table: ThresholdTable, figures: Mapping[str, int]) -> list[BasisItem]:
    """For each criterion (figure or AND of figures), the most severe row it reaches."""
    best: dict[tuple[str, ...], ThresholdRow] = {}
    for row in table.rows:
        if not _reached(table, row, figures):
            continue
        current = best.get(row.figures)
        if current is None or rank(row.level) > rank(current.level):
            best[row.figures] = row
    return [_row_item(table, row, figures) for row in best.values()]


def _row_item(table: ThresholdTable, row: ThresholdRow, figures: Mapping[str, int]) -> BasisItem:
    criterion = " and ".join(
        f"{_figure_label(table, c.figure)} ≥ {c.minimum:,}" for c in row.conditions
    )
    value: int | str
    if len(row.conditions) == 1:
        value = _figure(table, figures, row.conditions[0].figure)
    else:
        value = ", ".join(
            f"{_figure_label(table, c.figure)}={_figure(table, figures, c.figure):,}"
            for c in row.conditions
        )
    return BasisItem(criterion, value, row.level, row.source)


def _below_thresholds(table: ThresholdTable, figures: Mapping[str, int]) -> BasisItem:
    names = dict.fromkeys(c.figure for row in table.rows for c in row.conditions)
    value = ", ".join(
        f"{_figure_label(table, name)}={_figure(table, figures, name):,}" for name in names
    )
    return BasisItem(table.below_thresholds, value, Level.IV, table.source)


def _criteria_basis(
    category: Category, subtype: str | None, criteria: Sequence[str]
) -> list[BasisItem]:
    allowed: dict[str, NamedCriterion] = {c.key: c for c in named_criteria(category, subtype)}
    items = []
    for key in dict.fromkeys(criteria):  # a criterion picked twice counts once
        criterion = allowed.get(key)
        if criterion is None:
            raise UnknownCriterion(category, subtype, key)
        items.append(BasisItem(key, criterion.label.en, criterion.level, criterion.source))
    return items
