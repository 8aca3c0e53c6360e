"""Severity levels and incident categories (RULES §1; Measures Art. 14(3), 22, 25).

Values are stable identifiers stored in the database and sent over the API;
labels are for people, in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


@dataclass(frozen=True)
class Label:
    zh: str
    en: str


class Level(StrEnum):
    """The four levels of an emergency; I is the most severe."""

    I = "I"
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def label(self) -> Label:
        return LEVEL_LABELS[self]


class Category(StrEnum):
    # Art. 22 covers the first three; Art. 25 treats social security apart.
    natural_disaster = "natural_disaster"
    accident = "accident"
    public_health = "public_health"
    social_security = "social_security"

    @property
    def label(self) -> Label:
        return CATEGORY_LABELS[self]


LEVEL_LABELS: Mapping[Level, Label] = MappingProxyType(
    {
        Level.I: Label("特别重大", "particularly serious"),
        Level.II: Label("重大", "major"),
        Level.III: Label("较大", "larger"),
        Level.IV: Label("一般", "general"),
    }
)

CATEGORY_LABELS: Mapping[Category, Label] = MappingProxyType(
    {
        Category.natural_disaster: Label("自然灾害", "natural disaster"),
        Category.accident: Label("事故灾难", "accident"),
        Category.public_health: Label("公共卫生事件", "public health event"),
        Category.social_security: Label("社会安全事件", "social security incident"),
    }
)

# Art. 24 early warnings use the Emergency Response Law's colours for the same four levels.
WARNING_COLOURS: Mapping[Level, Label] = MappingProxyType(
    {
        Level.I: Label("红色", "red"),
        Level.II: Label("橙色", "orange"),
        Level.III: Label("黄色", "yellow"),
        Level.IV: Label("蓝色", "blue"),
    }
)

_RANK: Mapping[Level, int] = MappingProxyType({Level.I: 4, Level.II: 3, Level.III: 2, Level.IV: 1})


def rank(level: Level) -> int:
    """Higher is more severe: I=4, II=3, III=2, IV=1 (string order would put "IV" above "III")."""
    return _RANK[Level(level)]


def max_level(*levels: Level) -> Level:
    """The most severe of the given levels."""
    if not levels:
        raise ValueError("max_level() needs at least one level")
    return max((Level(level) for level in levels), key=rank)


def at_least(level: Level, other: Level) -> bool:
    """True when `level` is as severe as `other` or more."""
    return rank(level) >= rank(other)
