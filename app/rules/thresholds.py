"""Severity thresholds as data (RULES §1; ../shared/spec/thresholds.md).

The Measures (Art. 22, 25) use four levels without defining them; the levels
come from the national rules for each kind of emergency. Each quantitative
table and each row cites its source; qualitative national criteria are named
criteria a reporter picks from, each with its level.

Rows state only minimums. The national tables give ranges ("10 - 29 deaths is
II"), but their upper bounds only hand over to the next row up, and the level
is the highest any row reaches, so the bounds are implied. Stating minimums
keeps the classification monotone by construction: a larger figure can never
reach a lower level. "≥" is inclusive (以上 includes the number).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from app.rules.levels import Category, Label, Level

FIGURE_NAMES: frozenset[str] = frozenset(
    {
        "deaths",
        "missing",
        "serious_injuries",
        "injuries",
        "trapped",
        "affected",
        "relocated",
        "direct_loss_cny",
        "threatened",  # people threatened by a geological hazard (险情), to be relocated
        "potential_loss_cny",
        "rooms_collapsed",
        "poisoned",
        "cases",
    }
)


class UnknownSubtype(ValueError):
    def __init__(self, category: Category, subtype: str | None) -> None:
        super().__init__(f"unknown subtype {subtype!r} for category {category}")
        self.category = category
        self.subtype = subtype


@dataclass(frozen=True)
class Condition:
    figure: str
    minimum: int

    def __post_init__(self) -> None:
        if self.figure not in FIGURE_NAMES:
            raise ValueError(f"unknown figure {self.figure!r}")
        if self.minimum < 1:
            raise ValueError("a threshold minimum must be at least 1")


@dataclass(frozen=True)
class ThresholdRow:
    """Reached when every condition holds (AND); one condition is the usual case."""

    level: Level
    conditions: tuple[Condition, ...]
    source: str

    @property
    def figures(self) -> tuple[str, ...]:
        return tuple(c.figure for c in self.conditions)


@dataclass(frozen=True)
class ThresholdTable:
    key: str
    title: str
    source: str
    rows: tuple[ThresholdRow, ...]
    # The basis recorded when no row is reached; the result is then IV.
    below_thresholds: str
    # Chinese accident statistics count the missing with the dead (thresholds.md).
    missing_counts_as_deaths: bool = True


@dataclass(frozen=True)
class NamedCriterion:
    key: str
    category: Category
    subtype: str | None  # None: on the pick-list of every subtype of the category
    level: Level
    label: Label
    source: str


def _row(source: str, level: Level, **minimums: int) -> ThresholdRow:
    conditions = tuple(Condition(figure, minimum) for figure, minimum in minimums.items())
    return ThresholdRow(level, conditions, source)


# --- accident: production-safety accidents --------------------------------------------------

_DECREE_493 = (
    "State Council Decree No. 493 (2007), Regulation on the Reporting, Investigation and "
    "Handling of Production Safety Accidents, Art. 3"
)

PRODUCTION_SAFETY = ThresholdTable(
    key="production_safety",
    title="Production-safety accidents",
    source=_DECREE_493,
    rows=(
        # Art. 3(1): particularly serious.
        _row(f"{_DECREE_493}(1)", Level.I, deaths=30),
        _row(f"{_DECREE_493}(1)", Level.I, serious_injuries=100),
        _row(f"{_DECREE_493}(1)", Level.I, direct_loss_cny=100_000_000),
        # Art. 3(2): major.
        _row(f"{_DECREE_493}(2)", Level.II, deaths=10),
        _row(f"{_DECREE_493}(2)", Level.II, serious_injuries=50),
        _row(f"{_DECREE_493}(2)", Level.II, direct_loss_cny=50_000_000),
        # Art. 3(3): larger.
        _row(f"{_DECREE_493}(3)", Level.III, deaths=3),
        _row(f"{_DECREE_493}(3)", Level.III, serious_injuries=10),
        _row(f"{_DECREE_493}(3)", Level.III, direct_loss_cny=10_000_000),
    ),
    # Art. 3(4): everything below level III is general.
    below_thresholds="below level III thresholds → IV",
)

# --- natural_disaster / geological -----------------------------------------------------------

_GEOLOGICAL = (
    "National Emergency Plan for Sudden Geological Disasters, grading of disasters and hazards "
    "(as copied in Guizhou county plans, e.g. Longli County 2015)"
)

GEOLOGICAL = ThresholdTable(
    key="geological",
    title="Geological disasters and hazards",
    source=_GEOLOGICAL,
    rows=(
        # Deaths and direct loss grade a disaster that happened (灾情); people threatened
        # and potential loss grade a hazard that threatens (险情).
        _row(f"{_GEOLOGICAL}: I", Level.I, deaths=30),
        _row(f"{_GEOLOGICAL}: I", Level.I, direct_loss_cny=10_000_000),
        _row(f"{_GEOLOGICAL}: I", Level.I, threatened=1_000),
        _row(f"{_GEOLOGICAL}: I", Level.I, potential_loss_cny=100_000_000),
        _row(f"{_GEOLOGICAL}: II", Level.II, deaths=10),
        _row(f"{_GEOLOGICAL}: II", Level.II, direct_loss_cny=5_000_000),
        _row(f"{_GEOLOGICAL}: II", Level.II, threatened=500),
        _row(f"{_GEOLOGICAL}: II", Level.II, potential_loss_cny=50_000_000),
        _row(f"{_GEOLOGICAL}: III", Level.III, deaths=3),
        _row(f"{_GEOLOGICAL}: III", Level.III, direct_loss_cny=1_000_000),
        _row(f"{_GEOLOGICAL}: III", Level.III, threatened=100),
        _row(f"{_GEOLOGICAL}: III", Level.III, potential_loss_cny=5_000_000),
    ),
    below_thresholds="below level III thresholds → IV",
)

# --- natural_disaster: other natural disasters -----------------------------------------------

_RELIEF_PLAN = (
    "National Natural Disaster Relief Emergency Plan (2016), response levels for one province "
    "(level I unchanged in the 2024 version)"
)

OTHER_NATURAL = ThresholdTable(
    key="natural_disaster_relief",
    title="Natural disasters (flood, drought, storm, earthquake, ...)",
    source=_RELIEF_PLAN,
    rows=(
        _row(f"{_RELIEF_PLAN}: I", Level.I, deaths=200),
        _row(f"{_RELIEF_PLAN}: I", Level.I, relocated=2_000_000),
        _row(f"{_RELIEF_PLAN}: I", Level.I, rooms_collapsed=300_000),
        _row(f"{_RELIEF_PLAN}: II", Level.II, deaths=100),
        _row(f"{_RELIEF_PLAN}: II", Level.II, relocated=1_000_000),
        _row(f"{_RELIEF_PLAN}: II", Level.II, rooms_collapsed=200_000),
        _row(f"{_RELIEF_PLAN}: III", Level.III, deaths=50),
        _row(f"{_RELIEF_PLAN}: III", Level.III, relocated=500_000),
        _row(f"{_RELIEF_PLAN}: III", Level.III, rooms_collapsed=100_000),
        _row(f"{_RELIEF_PLAN}: IV", Level.IV, deaths=20),
        _row(f"{_RELIEF_PLAN}: IV", Level.IV, relocated=100_000),
    ),
    # These are provincial response levels; a local disaster below them is still a
    # general (IV) incident for release purposes (thresholds.md).
    below_thresholds="below level IV thresholds → still IV for release purposes",
)

# --- public_health / food_poisoning ----------------------------------------------------------

_PUBLIC_HEALTH_PLAN = "National Emergency Plan for Public Health Emergencies (2006), grading"

FOOD_POISONING = ThresholdTable(
    key="food_poisoning",
    title="Food poisoning (one incident)",
    source=_PUBLIC_HEALTH_PLAN,
    rows=(
        # "30 - 99 poisoned and no death" is IV: with a death the III row below wins anyway.
        _row(f"{_PUBLIC_HEALTH_PLAN}: IV", Level.IV, poisoned=30),
        _row(f"{_PUBLIC_HEALTH_PLAN}: III", Level.III, poisoned=100),
        _row(f"{_PUBLIC_HEALTH_PLAN}: III", Level.III, deaths=1),
        _row(f"{_PUBLIC_HEALTH_PLAN}: II", Level.II, poisoned=100, deaths=1),
        _row(f"{_PUBLIC_HEALTH_PLAN}: II", Level.II, deaths=10),
    ),
    below_thresholds="below level IV thresholds → IV",
    # The plan counts people dead of the poisoning; a missing person is not one.
    missing_counts_as_deaths=False,
)

# --- subtypes --------------------------------------------------------------------------------

PRODUCTION_SAFETY_SUBTYPES = (
    "mining",
    "hazardous_chemicals",
    "construction",
    "fire",
    "road_traffic",
    "rail",
    "aviation",
    "waterway",
    "special_equipment",
    "other_production_safety",
)
OTHER_NATURAL_SUBTYPES = (
    "flood",
    "drought",
    "storm",
    "earthquake",
    "forest_fire",
    "snow_ice",
    "other_natural",
)

SUBTYPES: Mapping[Category, frozenset[str]] = MappingProxyType(
    {
        Category.natural_disaster: frozenset({"geological", *OTHER_NATURAL_SUBTYPES}),
        Category.accident: frozenset(PRODUCTION_SAFETY_SUBTYPES),
        Category.public_health: frozenset(
            {
                "infectious_disease",
                "unexplained_illness",
                "food_poisoning",
                "occupational_poisoning",
                "vaccination_reaction",
                "other_public_health",
            }
        ),
        Category.social_security: frozenset(
            {"mass_incident", "terrorist_attack", "criminal_case", "other_social_security"}
        ),
    }
)

DEFAULT_SUBTYPE: Mapping[Category, str] = MappingProxyType(
    {
        Category.natural_disaster: "other_natural",
        Category.accident: "other_production_safety",
        Category.public_health: "other_public_health",
        Category.social_security: "other_social_security",
    }
)


def resolve_subtype(category: Category, subtype: str | None) -> str:
    """The subtype to use: the category's default when none is given."""
    if subtype is None:
        return DEFAULT_SUBTYPE[category]
    if subtype not in SUBTYPES[category]:
        raise UnknownSubtype(category, subtype)
    return subtype


# One table per (category, subtype); a subtype absent here has only named criteria.
# Every production-safety subtype shares Decree 493's table by default.
THRESHOLD_TABLES: Mapping[tuple[Category, str], ThresholdTable] = MappingProxyType(
    {
        **{(Category.accident, s): PRODUCTION_SAFETY for s in PRODUCTION_SAFETY_SUBTYPES},
        (Category.natural_disaster, "geological"): GEOLOGICAL,
        **{(Category.natural_disaster, s): OTHER_NATURAL for s in OTHER_NATURAL_SUBTYPES},
        (Category.public_health, "food_poisoning"): FOOD_POISONING,
    }
)

# --- named (qualitative) criteria ------------------------------------------------------------

_SOCIAL_STANDARD = (
    "General Office of the State Council, Grading Standards for Particularly Serious and Major "
    "Public Emergencies (trial, 2005), social security incidents"
)

_PH = Category.public_health
_SS = Category.social_security


def _named(
    key: str, category: Category, subtype: str | None, level: Level, zh: str, en: str, source: str
) -> NamedCriterion:
    return NamedCriterion(key, category, subtype, level, Label(zh, en), f"{source}: {level}")


NAMED_CRITERIA: tuple[NamedCriterion, ...] = (
    # Public health: the national plan's grading, in our own words.
    _named(
        "pneumonic_plague_spreading_in_city", _PH, "infectious_disease", Level.I,
        "肺鼠疫、肺炭疽在大中城市发生并有扩散趋势，或波及两个以上省份",
        "pneumonic plague or anthrax in a large or medium city and spreading, "
        "or reaching two or more provinces",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "sars_or_avian_flu_spreading", _PH, "infectious_disease", Level.I,
        "发生传染性非典型肺炎或人感染高致病性禽流感病例并有扩散趋势",
        "SARS or human highly pathogenic avian influenza cases, spreading",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "new_disease_spreading", _PH, "infectious_disease", Level.I,
        "新传染病或我国尚未发现的传染病发生或传入并有扩散趋势，或已消灭的传染病重新流行",
        "a new or never-seen infectious disease arriving and spreading, "
        "or an eradicated one returning",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "dangerous_pathogen_lost", _PH, None, Level.I,
        "烈性病菌株、毒株、致病因子等丢失",
        "loss of highly dangerous strains, toxins or pathogenic agents",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "pneumonic_plague_5_cases_in_county", _PH, "infectious_disease", Level.II,
        "一个县域内一个平均潜伏期内发生5例以上肺鼠疫、肺炭疽病例，或波及两个以上县",
        "5 or more pneumonic plague or anthrax cases in one county within an average "
        "incubation period, or reaching two or more counties",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "cholera_30_cases_week_in_prefecture", _PH, "infectious_disease", Level.II,
        "霍乱在一个市（州）域内流行，1周内发病30例以上，或波及两个以上市（州）",
        "cholera: 30 or more cases within a week in one prefecture, "
        "or reaching two or more prefectures",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "unexplained_illness_beyond_county", _PH, "unexplained_illness", Level.II,
        "群体性不明原因疾病扩散到县以外",
        "a cluster of unexplained illness spreading beyond one county",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "vaccination_death", _PH, "vaccination_reaction", Level.II,
        "预防接种或群体性预防性服药出现人员死亡",
        "a death after vaccination or mass preventive medication",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "occupational_poisoning_50_or_5_deaths", _PH, "occupational_poisoning", Level.II,
        "一次急性职业中毒50人以上，或死亡5人以上",
        "acute occupational poisoning of 50 or more people, or 5 or more deaths, in one incident",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        # A prefecture, not a county (thresholds.md; the national public-health plan).
        "cholera_10_29_cases_week_in_prefecture", _PH, "infectious_disease", Level.III,
        "霍乱在一个市（州）行政区域内发生，1周内发病10至29例，或波及两个以上县（市），"
        "或市（州）城区首次发生",
        "cholera: 10 - 29 cases within a week in one prefecture, or reaching two or more "
        "counties, or a first occurrence in a prefecture city's urban area",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "unexplained_illness_in_county", _PH, "unexplained_illness", Level.III,
        "在一个县域内发现群体性不明原因疾病",
        "a cluster of unexplained illness found within one county",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "vaccination_mass_reaction", _PH, "vaccination_reaction", Level.III,
        "预防接种或群体性预防性服药出现群体心因性反应或不良反应",
        "a mass psychogenic or adverse reaction after vaccination or mass preventive medication",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "occupational_poisoning_10_49", _PH, "occupational_poisoning", Level.III,
        "一次急性职业中毒10至49人，或死亡4人以下",
        "acute occupational poisoning of 10 - 49 people, or up to 4 deaths, in one incident",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "cholera_under_10_cases_week_in_county", _PH, "infectious_disease", Level.IV,
        "霍乱在一个县域内发生，1周内发病9例以下",
        "cholera: 9 or fewer cases within a week in one county",
        _PUBLIC_HEALTH_PLAN,
    ),
    _named(
        "occupational_poisoning_under_10_no_death", _PH, "occupational_poisoning", Level.IV,
        "一次急性职业中毒9人以下，未出现死亡",
        "acute occupational poisoning of 9 or fewer people and no death, in one incident",
        _PUBLIC_HEALTH_PLAN,
    ),
    # Social security: the national standard grades only I and II; levels III and IV
    # are asserted by the reporter with a basis (RULES §1).
    _named(
        "mass_incident_5000_participants", _SS, "mass_incident", Level.I,
        "一次参与人数5000人以上，严重影响社会稳定",
        "5,000 or more people taking part, seriously affecting social stability",
        _SOCIAL_STANDARD,
    ),
    _named(
        "mass_incident_storming_organs", _SS, "mass_incident", Level.I,
        "冲击、围攻县级以上党政军机关和要害部门，或打砸抢烧乡镇以上党政军机关",
        "storming or besieging county-level or higher Party, government or military organs, "
        "or wrecking or burning township-level or higher ones",
        _SOCIAL_STANDARD,
    ),
    _named(
        "mass_incident_10_deaths_or_30_injured", _SS, "mass_incident", Level.I,
        "造成10人以上死亡或30人以上受伤，严重危害社会稳定",
        "10 or more deaths or 30 or more injured, seriously endangering social stability",
        _SOCIAL_STANDARD,
    ),
    _named(
        "mass_incident_1000_participants", _SS, "mass_incident", Level.II,
        "参与人数1000人以上、5000人以下，影响较大的非法集会、聚众闹事等",
        "1,000 - 4,999 people in an illegal assembly, disturbance or strike of wide impact",
        _SOCIAL_STANDARD,
    ),
    _named(
        "mass_incident_3_deaths_or_10_injured", _SS, "mass_incident", Level.II,
        "造成3人以上、10人以下死亡，或10人以上、30人以下受伤",
        "3 - 9 deaths or 10 - 29 injured",
        _SOCIAL_STANDARD,
    ),
    _named(
        "terrorist_cbrn_attack", _SS, "terrorist_attack", Level.I,
        "利用生物、化学、核或放射性物质实施恐怖袭击",
        "a terrorist attack with biological, chemical, nuclear or radioactive means",
        _SOCIAL_STANDARD,
    ),
    _named(
        "criminal_case_10_deaths", _SS, "criminal_case", Level.I,
        "一次造成10人以上死亡的杀人、爆炸、纵火、投毒等案件",
        "a killing, bombing, arson or poisoning case with 10 or more deaths",
        _SOCIAL_STANDARD,
    ),
    _named(
        "criminal_case_3_deaths", _SS, "criminal_case", Level.II,
        "一次造成3人以上、10人以下死亡的杀人、爆炸、纵火、投毒等案件",
        "a killing, bombing, arson or poisoning case with 3 - 9 deaths",
        _SOCIAL_STANDARD,
    ),
)  # fmt: skip


def named_criteria(category: Category, subtype: str | None) -> tuple[NamedCriterion, ...]:
    """The pick-list: a subtype's criteria plus the category-wide ones.

    Without a subtype the reporter has not narrowed the incident down yet, so the whole
    category's list is offered.
    """
    if subtype is None:
        return tuple(c for c in NAMED_CRITERIA if c.category == category)
    resolve_subtype(category, subtype)
    return tuple(
        c for c in NAMED_CRITERIA if c.category == category and c.subtype in (None, subtype)
    )
