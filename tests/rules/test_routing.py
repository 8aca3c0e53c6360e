import csv
from pathlib import Path
from types import MappingProxyType

import pytest

import app
from app.rules.divisions import GUIAN_CODE, DivisionTree, UnknownDivision, load_divisions
from app.rules.levels import Category, Level
from app.rules.routing import (
    DEFAULT_AUTHORITIES,
    DisposalAuthorities,
    OrgRef,
    Responsibility,
    ResponsibleKind,
    information_office_above,
    route,
)
from app.rules.thresholds import UnknownSubtype

I, II, III, IV = Level.I, Level.II, Level.III, Level.IV
NATURAL = Category.natural_disaster
ACCIDENT = Category.accident
HEALTH = Category.public_health
SOCIAL = Category.social_security
ART_22_CATEGORIES = [NATURAL, ACCIDENT, HEALTH]

GUIZHOU = "520000"
GUIYANG = "520100"
LIUPANSHUI = "520200"
ANSHUN = "520400"
NANMING = "520102"  # Guiyang
YUNYAN = "520103"  # Guiyang
HUAXI = "520111"  # Guiyang, partly run by Gui'an
ZHONGSHAN = "520201"  # Liupanshui
PINGBA = "520403"  # Anshun, partly run by Gui'an
DUYUN = "522701"  # Qiannan

COMMAND = OrgRef("on_site_command", "")


def gov(code: str) -> OrgRef:
    return OrgRef("government", code)


def dept(key: str) -> OrgRef:
    return OrgRef("department", key)


@pytest.fixture(scope="module")
def tree() -> DivisionTree:
    path = Path(app.__file__).parent / "data" / "guizhou_divisions.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return load_divisions(csv.DictReader(f))


def responsible(
    tree: DivisionTree,
    category: Category,
    level: Level,
    *,
    subtype: str | None = None,
    places: tuple[str, ...] = (NANMING,),
    command: bool = False,
    escalated: bool = False,
    authorities: DisposalAuthorities = DEFAULT_AUTHORITIES,
) -> Responsibility:
    return route(
        category=category,
        subtype=subtype,
        level=level,
        division_codes=places,
        on_site_command_active=command,
        escalated=escalated,
        tree=tree,
        authorities=authorities,
    )


# --- Art. 22: natural disasters, accidents, public health ------------------------------------


@pytest.mark.parametrize("category", ART_22_CATEGORIES)
@pytest.mark.parametrize("level", [I, II])
@pytest.mark.parametrize("escalated", [True, False])
def test_an_active_on_site_command_releases_a_level_i_or_ii_incident_uniformly(
    tree: DivisionTree, category: Category, level: Level, escalated: bool
) -> None:
    result = responsible(tree, category, level, command=True, escalated=escalated)
    assert result.kind is ResponsibleKind.on_site_command
    assert result.org == COMMAND
    assert result.co_signers == ()
    assert result.reason.startswith("Art. 22")


@pytest.mark.parametrize("category", ART_22_CATEGORIES)
@pytest.mark.parametrize("level", [I, II])
def test_without_a_command_an_escalated_incident_goes_to_the_provincial_government(
    tree: DivisionTree, category: Category, level: Level
) -> None:
    result = responsible(tree, category, level, escalated=True, places=(NANMING, ZHONGSHAN))
    assert result.kind is ResponsibleKind.provincial_government
    assert result.org == gov(GUIZHOU)
    assert result.co_signers == ()
    assert "information office" in result.reason


@pytest.mark.parametrize(
    ("category", "subtype", "department"),
    [
        (NATURAL, "flood", "emergency_management"),
        (NATURAL, "earthquake", "emergency_management"),
        (NATURAL, None, "emergency_management"),
        (NATURAL, "geological", "natural_resources"),
        (ACCIDENT, "mining", "emergency_management"),
        (ACCIDENT, "hazardous_chemicals", "emergency_management"),
        (ACCIDENT, None, "emergency_management"),
        (ACCIDENT, "road_traffic", "public_security"),
        (HEALTH, "infectious_disease", "health_commission"),
        (HEALTH, "food_poisoning", "health_commission"),
        (HEALTH, None, "health_commission"),
    ],
)
@pytest.mark.parametrize("level", [I, II])
def test_without_a_command_or_escalation_the_provincial_disposal_authority_releases(
    tree: DivisionTree, category: Category, subtype: str | None, department: str, level: Level
) -> None:
    result = responsible(tree, category, level, subtype=subtype, places=(NANMING, ZHONGSHAN))
    assert result == Responsibility(
        ResponsibleKind.disposal_authority,
        dept(department),
        (),
        result.reason,
    )
    assert result.reason.startswith("Art. 22") and department in result.reason


@pytest.mark.parametrize("category", ART_22_CATEGORIES)
@pytest.mark.parametrize(("command", "escalated"), [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize(
    ("level", "kind", "government"),
    [
        (III, ResponsibleKind.prefecture_government, GUIYANG),
        (IV, ResponsibleKind.county_government, NANMING),
    ],
)
def test_a_level_iii_or_iv_incident_goes_to_the_local_government_of_the_place(
    tree: DivisionTree,
    category: Category,
    command: bool,
    escalated: bool,
    level: Level,
    kind: ResponsibleKind,
    government: str,
) -> None:
    # Art. 22: III to the prefecture, IV to the county, whatever the command or escalation.
    result = responsible(tree, category, level, command=command, escalated=escalated)
    assert result.kind is kind
    assert result.org == gov(government)
    assert result.co_signers == ()
    assert result.reason.startswith("Art. 22")


# --- Art. 25: social security ----------------------------------------------------------------


@pytest.mark.parametrize("level", [I, II, III, IV])
def test_an_active_command_releases_a_social_security_incident_at_any_level(
    tree: DivisionTree, level: Level
) -> None:
    result = responsible(tree, SOCIAL, level, subtype="mass_incident", command=True)
    assert result.kind is ResponsibleKind.on_site_command
    assert result.org == COMMAND
    assert result.reason.startswith("Art. 25")


@pytest.mark.parametrize("level", [I, II])
@pytest.mark.parametrize("escalated", [True, False])
def test_without_a_command_the_public_security_department_handles_a_major_social_incident(
    tree: DivisionTree, level: Level, escalated: bool
) -> None:
    result = responsible(tree, SOCIAL, level, subtype="terrorist_attack", escalated=escalated)
    assert result.kind is ResponsibleKind.incident_handling_authority
    assert result.org == dept("public_security")
    assert result.co_signers == ()
    assert result.reason.startswith("Art. 25")


def test_a_larger_social_incident_goes_to_the_prefecture_and_a_general_one_to_the_county(
    tree: DivisionTree,
) -> None:
    larger = responsible(tree, SOCIAL, III, places=(DUYUN,), escalated=True)
    assert (larger.kind, larger.org) == (ResponsibleKind.prefecture_government, gov("522700"))
    assert larger.reason.startswith("Art. 25")
    general = responsible(tree, SOCIAL, IV, places=(DUYUN,))
    assert (general.kind, general.org) == (ResponsibleKind.county_government, gov(DUYUN))


# --- configurable disposal authorities -------------------------------------------------------

CUSTOM = DisposalAuthorities(
    by_subtype=MappingProxyType({"mining": "mine_safety", "terrorist_attack": "anti_terrorism"}),
    by_category=MappingProxyType(
        {NATURAL: "emergency_management", ACCIDENT: "emergency_management"}
    ),
    social_security="state_security",
)


def test_the_disposal_authority_table_can_be_overridden(tree: DivisionTree) -> None:
    assert responsible(tree, ACCIDENT, I, subtype="mining", authorities=CUSTOM).org == dept(
        "mine_safety"
    )
    # road_traffic is no longer special in this table: the category default applies.
    assert responsible(tree, ACCIDENT, II, subtype="road_traffic", authorities=CUSTOM).org == dept(
        "emergency_management"
    )
    assert responsible(tree, SOCIAL, I, subtype="terrorist_attack", authorities=CUSTOM).org == dept(
        "anti_terrorism"
    )
    assert responsible(tree, SOCIAL, II, subtype="criminal_case", authorities=CUSTOM).org == dept(
        "state_security"
    )


def test_a_category_missing_from_the_table_is_a_configuration_error(tree: DivisionTree) -> None:
    with pytest.raises(ValueError, match="no disposal authority"):
        responsible(tree, HEALTH, II, authorities=CUSTOM)


# --- several divisions: co-signers (Art. 15) -------------------------------------------------


def test_a_larger_incident_across_two_prefectures_is_led_by_the_first_and_co_signed(
    tree: DivisionTree,
) -> None:
    result = responsible(tree, ACCIDENT, III, places=(ZHONGSHAN, NANMING))
    assert result.kind is ResponsibleKind.prefecture_government
    assert result.org == gov(LIUPANSHUI)
    assert result.co_signers == (gov(GUIYANG),)
    assert "Art. 15" in result.reason


def test_a_larger_incident_across_two_counties_of_one_prefecture_has_no_co_signer(
    tree: DivisionTree,
) -> None:
    result = responsible(tree, NATURAL, III, places=(NANMING, YUNYAN))
    assert (result.org, result.co_signers) == (gov(GUIYANG), ())


def test_a_general_incident_across_two_counties_is_led_by_the_first_listed(
    tree: DivisionTree,
) -> None:
    result = responsible(tree, ACCIDENT, IV, places=(YUNYAN, NANMING, YUNYAN))
    assert result.kind is ResponsibleKind.county_government
    assert result.org == gov(YUNYAN)
    assert result.co_signers == (gov(NANMING),)


def test_a_general_incident_placed_on_a_whole_prefecture_goes_to_that_prefecture(
    tree: DivisionTree,
) -> None:
    result = responsible(tree, HEALTH, IV, places=(GUIYANG,))
    assert result.kind is ResponsibleKind.prefecture_government
    assert result.org == gov(GUIYANG)
    assert result.co_signers == ()
    assert "prefecture-level division" in result.reason


def test_the_highest_division_named_sets_the_tier_for_every_place(tree: DivisionTree) -> None:
    # A county of Guiyang and the whole of Liupanshui: both are handled at prefecture tier.
    result = responsible(tree, ACCIDENT, IV, places=(NANMING, LIUPANSHUI))
    assert result.kind is ResponsibleKind.prefecture_government
    assert result.org == gov(GUIYANG)
    assert result.co_signers == (gov(LIUPANSHUI),)


def test_a_county_inside_the_responsible_prefecture_does_not_co_sign(tree: DivisionTree) -> None:
    result = responsible(tree, ACCIDENT, IV, places=(GUIYANG, NANMING))
    assert (result.org, result.co_signers) == (gov(GUIYANG), ())


def test_an_incident_placed_on_the_whole_province_goes_to_the_provincial_government(
    tree: DivisionTree,
) -> None:
    result = responsible(tree, NATURAL, III, places=(GUIZHOU, NANMING))
    assert result.kind is ResponsibleKind.provincial_government
    assert (result.org, result.co_signers) == (gov(GUIZHOU), ())


def test_a_major_incident_across_prefectures_has_no_co_signers(tree: DivisionTree) -> None:
    result = responsible(tree, ACCIDENT, II, places=(NANMING, ZHONGSHAN, DUYUN))
    assert result.co_signers == ()


# --- Gui'an New District ---------------------------------------------------------------------


def test_an_incident_in_guian_is_released_by_guian_at_prefecture_tier(tree: DivisionTree) -> None:
    for level in (III, IV):
        result = responsible(tree, ACCIDENT, level, places=(GUIAN_CODE,))
        assert result.kind is ResponsibleKind.prefecture_government
        assert result.org == gov(GUIAN_CODE)


def test_a_county_gui_an_administers_still_goes_to_its_real_prefecture(
    tree: DivisionTree,
) -> None:
    assert responsible(tree, ACCIDENT, III, places=(HUAXI,)).org == gov(GUIYANG)
    assert responsible(tree, ACCIDENT, III, places=(PINGBA,)).org == gov(ANSHUN)
    assert responsible(tree, ACCIDENT, IV, places=(PINGBA,)).org == gov(PINGBA)


def test_an_incident_across_guian_and_pingba_is_co_signed_by_anshun(tree: DivisionTree) -> None:
    result = responsible(tree, NATURAL, IV, places=(GUIAN_CODE, PINGBA))
    assert result.org == gov(GUIAN_CODE)
    assert result.co_signers == (gov(ANSHUN),)


# --- bad input -------------------------------------------------------------------------------


def test_the_place_must_be_given_and_known(tree: DivisionTree) -> None:
    with pytest.raises(ValueError, match="at least one division"):
        responsible(tree, ACCIDENT, IV, places=())
    with pytest.raises(UnknownDivision):
        responsible(tree, ACCIDENT, IV, places=("529999",))
    with pytest.raises(TypeError):
        route(
            category=ACCIDENT,
            subtype=None,
            level=IV,
            division_codes=NANMING,
            on_site_command_active=False,
            escalated=False,
            tree=tree,
        )


def test_an_unknown_subtype_is_refused(tree: DivisionTree) -> None:
    with pytest.raises(UnknownSubtype):
        responsible(tree, SOCIAL, I, subtype="flood")


# --- escalation of a breach ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("division", "office"),
    [
        (NANMING, GUIYANG),
        (PINGBA, ANSHUN),
        (GUIYANG, GUIZHOU),
        (GUIAN_CODE, GUIZHOU),
        (GUIZHOU, GUIZHOU),
    ],
)
def test_a_breach_escalates_to_the_information_office_one_level_up(
    tree: DivisionTree, division: str, office: str
) -> None:
    assert information_office_above(division, tree) == office
