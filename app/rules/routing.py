"""Who is responsible for releasing information on an incident (RULES §2; Art. 15, 22, 25).

Decisions on the edges the Measures leave open, each also noted where it applies:

- The government tier comes from the level (III → prefecture, IV → county), but
  never sits below a division the incident names: a level IV incident placed on
  a whole prefecture (no county given) goes to that prefecture's government.
  Gui'an New District counts as prefecture tier; a county is lifted to its real
  prefecture, never to Gui'an.
- Every place is lifted to that tier; the first distinct government is
  responsible and the others co-sign (Art. 15 joint confirmation). A county
  inside the responsible prefecture collapses into it and does not co-sign.
- Level I and II releases are provincial (on-site command, provincial
  government or a provincial department), so there are no co-signers.
- Escalation to the provincial government has no role for social security:
  Art. 25 names only the command, the local government and the handling authority.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from app.rules.divisions import DivisionTree
from app.rules.levels import Category, Level, at_least
from app.rules.thresholds import resolve_subtype


class ResponsibleKind(StrEnum):
    on_site_command = "on_site_command"
    provincial_government = "provincial_government"
    disposal_authority = "disposal_authority"
    prefecture_government = "prefecture_government"
    county_government = "county_government"
    incident_handling_authority = "incident_handling_authority"


OrgKind = Literal["government", "department", "on_site_command", "information_office"]


@dataclass(frozen=True)
class OrgRef:
    """government → division code; department → e.g. "emergency_management";
    on_site_command → "" (the incident's own command); information_office → division code."""

    kind: OrgKind
    key: str


ON_SITE_COMMAND = OrgRef("on_site_command", "")


@dataclass(frozen=True)
class Responsibility:
    kind: ResponsibleKind
    org: OrgRef
    co_signers: tuple[OrgRef, ...]
    reason: str  # cites the article


@dataclass(frozen=True)
class DisposalAuthorities:
    """Which provincial department handles an incident: configurable (RULES §2)."""

    by_subtype: Mapping[str, str]
    by_category: Mapping[Category, str]
    # Art. 25's incident-handling authority for social security, unless a subtype overrides it.
    social_security: str = "public_security"

    def for_incident(self, category: Category, subtype: str) -> str:
        if subtype in self.by_subtype:
            return self.by_subtype[subtype]
        if category is Category.social_security:
            return self.social_security
        if category not in self.by_category:
            raise ValueError(f"no disposal authority configured for {category}")
        return self.by_category[category]


DEFAULT_AUTHORITIES = DisposalAuthorities(
    by_subtype=MappingProxyType(
        {"geological": "natural_resources", "road_traffic": "public_security"}
    ),
    by_category=MappingProxyType(
        {
            Category.natural_disaster: "emergency_management",
            Category.accident: "emergency_management",
            Category.public_health: "health_commission",
        }
    ),
)

# Government tiers: a place is never handed to a government below it.
_TIER = MappingProxyType({"county": 1, "prefecture": 2, "new_area": 2, "province": 3})
_TIER_FOR_LEVEL = MappingProxyType({Level.III: 2, Level.IV: 1})
_KIND_FOR_TIER = MappingProxyType(
    {
        1: ResponsibleKind.county_government,
        2: ResponsibleKind.prefecture_government,
        3: ResponsibleKind.provincial_government,
    }
)
_TIER_NAME = MappingProxyType({1: "county", 2: "prefecture-level", 3: "provincial"})


def route(
    *,
    category: Category,
    subtype: str | None,
    level: Level,
    division_codes: Sequence[str],
    on_site_command_active: bool,
    escalated: bool,
    tree: DivisionTree,
    authorities: DisposalAuthorities = DEFAULT_AUTHORITIES,
) -> Responsibility:
    category, level = Category(category), Level(level)
    subtype = resolve_subtype(category, subtype)
    places = _places(division_codes, tree)
    if category is Category.social_security:
        return _route_social_security(
            level, subtype, places, on_site_command_active, tree, authorities
        )

    if at_least(level, Level.II):
        if on_site_command_active:
            return Responsibility(
                ResponsibleKind.on_site_command,
                ON_SITE_COMMAND,
                (),
                f"Art. 22: level {level} {category} with an on-site command: "
                "the command releases, uniformly",
            )
        if escalated:
            return Responsibility(
                ResponsibleKind.provincial_government,
                OrgRef("government", tree.province_code),
                (),
                f"Art. 22: level {level} {category} without an on-site command, escalated: "
                "the provincial people's government releases through its information office",
            )
        department = authorities.for_incident(category, subtype)
        return Responsibility(
            ResponsibleKind.disposal_authority,
            OrgRef("department", department),
            (),
            f"Art. 22: level {level} {category}/{subtype} without an on-site command: "
            f"the provincial disposal authority ({department}) releases",
        )
    return _local_government(level, places, tree, article="Art. 22")


def information_office_above(division_code: str, tree: DivisionTree) -> str:
    """The division whose information office is one level up (county → prefecture → province).

    RULES §3: a breached obligation escalates there. The province has nothing above it
    and stays with itself; Gui'an, run by the province, goes to the province.
    """
    return tree.get(division_code).parent_code or division_code


def _route_social_security(
    level: Level,
    subtype: str,
    places: tuple[str, ...],
    on_site_command_active: bool,
    tree: DivisionTree,
    authorities: DisposalAuthorities,
) -> Responsibility:
    # Art. 25: an active on-site command releases whatever the level.
    if on_site_command_active:
        return Responsibility(
            ResponsibleKind.on_site_command,
            ON_SITE_COMMAND,
            (),
            f"Art. 25: level {level} social security incident with an on-site command: "
            "the command releases",
        )
    if at_least(level, Level.II):
        department = authorities.for_incident(Category.social_security, subtype)
        return Responsibility(
            ResponsibleKind.incident_handling_authority,
            OrgRef("department", department),
            (),
            f"Art. 25: level {level} social security incident without an on-site command: "
            f"the incident-handling authority ({department}) releases",
        )
    return _local_government(level, places, tree, article="Art. 25")


def _places(division_codes: Sequence[str], tree: DivisionTree) -> tuple[str, ...]:
    if isinstance(division_codes, str):
        raise TypeError("division_codes is a sequence of codes, not one code")
    places = tuple(dict.fromkeys(division_codes))
    if not places:
        raise ValueError("an incident needs at least one division code")
    for code in places:
        tree.get(code)  # raises UnknownDivision
    return places


def _local_government(
    level: Level, places: tuple[str, ...], tree: DivisionTree, *, article: str
) -> Responsibility:
    wanted = _TIER_FOR_LEVEL[level]
    # The responsible tier is computed on the highest division involved (RULES §2).
    tier = max(wanted, *(_TIER[tree.get(code).level] for code in places))
    governments = tuple(dict.fromkeys(_lift(code, tier, tree) for code in places))
    responsible, co_signers = governments[0], governments[1:]

    reason = (
        f"{article}: a level {level} incident is released by the "
        f"{_TIER_NAME[wanted]} government of the place"
    )
    if tier > wanted:
        reason += (
            f"; the place names a {_TIER_NAME[tier]} division, "
            f"so its {_TIER_NAME[tier]} government releases"
        )
    if co_signers:
        reason += "; the other governments of the place confirm jointly (Art. 15)"
    return Responsibility(
        _KIND_FOR_TIER[tier],
        OrgRef("government", responsible),
        tuple(OrgRef("government", code) for code in co_signers),
        reason,
    )


def _lift(code: str, tier: int, tree: DivisionTree) -> str:
    """The division at `tier` or above that contains `code` (the code itself if high enough)."""
    for candidate in (code, *tree.ancestors(code)):
        if _TIER[tree.get(candidate).level] >= tier:
            return candidate
    return tree.province_code
