import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rules.classification import (
    BasisItem,
    Classification,
    UnknownCriterion,
    UnknownFigure,
    UnknownSubtype,
    classify,
    next_level_after_facts,
)
from app.rules.levels import (
    CATEGORY_LABELS,
    LEVEL_LABELS,
    WARNING_COLOURS,
    Category,
    Level,
    at_least,
    max_level,
    rank,
)
from app.rules.thresholds import (
    DEFAULT_SUBTYPE,
    FIGURE_NAMES,
    NAMED_CRITERIA,
    PRODUCTION_SAFETY,
    SUBTYPES,
    THRESHOLD_TABLES,
    named_criteria,
)

I, II, III, IV = Level.I, Level.II, Level.III, Level.IV
ACCIDENT = Category.accident
NATURAL = Category.natural_disaster
HEALTH = Category.public_health
SOCIAL = Category.social_security


# --- levels ----------------------------------------------------------------------------------


def test_levels_rank_from_particularly_serious_down_to_general() -> None:
    assert [rank(level) for level in (I, II, III, IV)] == [4, 3, 2, 1]
    assert max_level(IV, II, III) == II
    assert max_level(III, IV) == III  # not string order, where "IV" > "III"
    assert at_least(II, III) and at_least(II, II) and not at_least(III, II)
    with pytest.raises(ValueError):
        max_level()


def test_levels_and_categories_have_chinese_and_english_labels() -> None:
    assert [(LEVEL_LABELS[lv].zh, LEVEL_LABELS[lv].en) for lv in (I, II, III, IV)] == [
        ("特别重大", "particularly serious"),
        ("重大", "major"),
        ("较大", "larger"),
        ("一般", "general"),
    ]
    assert II.label.zh == "重大"
    assert set(CATEGORY_LABELS) == set(Category)
    assert ACCIDENT.label.en == "accident"
    # Art. 24 warnings take the Emergency Response Law's colours, one per level.
    assert {lv: (c.zh, c.en) for lv, c in WARNING_COLOURS.items()} == {
        I: ("红色", "red"),
        II: ("橙色", "orange"),
        III: ("黄色", "yellow"),
        IV: ("蓝色", "blue"),
    }


# --- production-safety accidents (Decree 493, Art. 3) ----------------------------------------

ACCIDENT_BOUNDARIES = [
    ("deaths", 2, IV),
    ("deaths", 3, III),
    ("deaths", 9, III),
    ("deaths", 10, II),
    ("deaths", 29, II),
    ("deaths", 30, I),
    ("serious_injuries", 9, IV),
    ("serious_injuries", 10, III),
    ("serious_injuries", 49, III),
    ("serious_injuries", 50, II),
    ("serious_injuries", 99, II),
    ("serious_injuries", 100, I),
    ("direct_loss_cny", 9_999_999, IV),
    ("direct_loss_cny", 10_000_000, III),
    ("direct_loss_cny", 49_999_999, III),
    ("direct_loss_cny", 50_000_000, II),
    ("direct_loss_cny", 99_999_999, II),
    ("direct_loss_cny", 100_000_000, I),
]


@pytest.mark.parametrize("subtype", sorted(SUBTYPES[ACCIDENT]))
@pytest.mark.parametrize(("figure", "value", "level"), ACCIDENT_BOUNDARIES)
def test_every_production_safety_subtype_grades_by_decree_493(
    subtype: str, figure: str, value: int, level: Level
) -> None:
    assert classify(ACCIDENT, subtype, {figure: value}).level == level


def test_a_mine_flood_with_12_dead_is_major_and_says_why() -> None:
    result = classify(ACCIDENT, "mining", {"deaths": 12, "serious_injuries": 4})
    assert result == Classification(
        level=II,
        basis=(
            BasisItem(
                "deaths incl. missing ≥ 10",
                12,
                II,
                "State Council Decree No. 493 (2007), Regulation on the Reporting, "
                "Investigation and Handling of Production Safety Accidents, Art. 3(2)",
            ),
        ),
        computed_level=II,
        asserted_level=None,
        missing_counted_as_deaths=True,
    )


def test_each_criterion_records_the_highest_row_it_reaches_most_severe_first() -> None:
    result = classify(
        ACCIDENT,
        "hazardous_chemicals",
        {"deaths": 4, "serious_injuries": 60, "direct_loss_cny": 120_000_000},
    )
    assert result.level == I
    assert [(b.criterion, b.value, b.level) for b in result.basis] == [
        ("direct_loss_cny ≥ 100,000,000", 120_000_000, I),
        ("serious_injuries ≥ 50", 60, II),
        ("deaths incl. missing ≥ 3", 4, III),
    ]


def test_a_road_crash_below_every_threshold_is_general_and_says_so() -> None:
    result = classify(ACCIDENT, "road_traffic", {"deaths": 2, "injuries": 15})
    assert result.level == IV
    assert result.computed_level == IV
    assert result.basis == (
        BasisItem(
            "below level III thresholds → IV",
            "deaths incl. missing=2, serious_injuries=0, direct_loss_cny=0",
            IV,
            PRODUCTION_SAFETY.source,
        ),
    )


def test_the_default_accident_subtype_is_other_production_safety() -> None:
    assert DEFAULT_SUBTYPE[ACCIDENT] == "other_production_safety"
    assert classify(ACCIDENT, None, {"deaths": 3}).level == III


# --- missing people counted with the dead ----------------------------------------------------


def test_two_dead_and_one_missing_make_a_larger_accident() -> None:
    result = classify(ACCIDENT, "construction", {"deaths": 2, "missing": 1})
    assert result.level == III
    assert result.missing_counted_as_deaths is True
    assert result.basis[0].criterion == "deaths incl. missing ≥ 3"
    assert result.basis[0].value == 3


def test_with_the_switch_off_the_missing_are_not_counted() -> None:
    tables = {
        **THRESHOLD_TABLES,
        (ACCIDENT, "construction"): dataclasses.replace(
            PRODUCTION_SAFETY, missing_counts_as_deaths=False
        ),
    }
    result = classify(ACCIDENT, "construction", {"deaths": 2, "missing": 1}, tables=tables)
    assert result.level == IV
    assert result.missing_counted_as_deaths is False
    assert result.basis[0].value == "deaths=2, serious_injuries=0, direct_loss_cny=0"
    counted = classify(ACCIDENT, "construction", {"deaths": 3, "missing": 5}, tables=tables)
    assert counted.basis[0].criterion == "deaths ≥ 3"
    assert counted.basis[0].value == 3


def test_missing_alone_can_make_an_accident_particularly_serious() -> None:
    assert classify(ACCIDENT, "mining", {"missing": 30}).level == I


# --- geological disasters --------------------------------------------------------------------

GEOLOGICAL_BOUNDARIES = [
    ("deaths", 2, IV),
    ("deaths", 3, III),
    ("deaths", 9, III),
    ("deaths", 10, II),
    ("deaths", 29, II),
    ("deaths", 30, I),
    ("direct_loss_cny", 999_999, IV),
    ("direct_loss_cny", 1_000_000, III),
    ("direct_loss_cny", 4_999_999, III),
    ("direct_loss_cny", 5_000_000, II),
    ("direct_loss_cny", 9_999_999, II),
    ("direct_loss_cny", 10_000_000, I),
    ("threatened", 99, IV),
    ("threatened", 100, III),
    ("threatened", 499, III),
    ("threatened", 500, II),
    ("threatened", 999, II),
    ("threatened", 1_000, I),
    ("potential_loss_cny", 4_999_999, IV),
    ("potential_loss_cny", 5_000_000, III),
    ("potential_loss_cny", 49_999_999, III),
    ("potential_loss_cny", 50_000_000, II),
    ("potential_loss_cny", 99_999_999, II),
    ("potential_loss_cny", 100_000_000, I),
]


@pytest.mark.parametrize(("figure", "value", "level"), GEOLOGICAL_BOUNDARIES)
def test_geological_disasters_and_hazards_grade_by_their_own_table(
    figure: str, value: int, level: Level
) -> None:
    assert classify(NATURAL, "geological", {figure: value}).level == level


def test_a_landslide_counts_its_missing_with_its_dead() -> None:
    result = classify(NATURAL, "geological", {"deaths": 9, "missing": 1})
    assert result.level == II
    assert result.missing_counted_as_deaths is True
    assert (result.basis[0].criterion, result.basis[0].value) == ("deaths incl. missing ≥ 10", 10)


def test_a_landslide_threatening_600_villagers_is_a_major_hazard() -> None:
    result = classify(NATURAL, "geological", {"threatened": 600, "deaths": 0})
    assert result.level == II
    assert result.basis[0].criterion == "threatened ≥ 500"
    assert "Geological Disasters" in result.basis[0].source


# --- other natural disasters (national relief plan, per province) ----------------------------

NATURAL_BOUNDARIES = [
    ("deaths", 19, IV, "below level IV thresholds → still IV for release purposes"),
    ("deaths", 20, IV, "deaths incl. missing ≥ 20"),
    ("deaths", 49, IV, "deaths incl. missing ≥ 20"),
    ("deaths", 50, III, "deaths incl. missing ≥ 50"),
    ("deaths", 99, III, "deaths incl. missing ≥ 50"),
    ("deaths", 100, II, "deaths incl. missing ≥ 100"),
    ("deaths", 199, II, "deaths incl. missing ≥ 100"),
    ("deaths", 200, I, "deaths incl. missing ≥ 200"),
    ("relocated", 99_999, IV, "below level IV thresholds → still IV for release purposes"),
    ("relocated", 100_000, IV, "relocated ≥ 100,000"),
    ("relocated", 499_999, IV, "relocated ≥ 100,000"),
    ("relocated", 500_000, III, "relocated ≥ 500,000"),
    ("relocated", 999_999, III, "relocated ≥ 500,000"),
    ("relocated", 1_000_000, II, "relocated ≥ 1,000,000"),
    ("relocated", 1_999_999, II, "relocated ≥ 1,000,000"),
    ("relocated", 2_000_000, I, "relocated ≥ 2,000,000"),
    ("rooms_collapsed", 99_999, IV, "below level IV thresholds → still IV for release purposes"),
    ("rooms_collapsed", 100_000, III, "rooms_collapsed ≥ 100,000"),
    ("rooms_collapsed", 199_999, III, "rooms_collapsed ≥ 100,000"),
    ("rooms_collapsed", 200_000, II, "rooms_collapsed ≥ 200,000"),
    ("rooms_collapsed", 299_999, II, "rooms_collapsed ≥ 200,000"),
    ("rooms_collapsed", 300_000, I, "rooms_collapsed ≥ 300,000"),
]


@pytest.mark.parametrize("subtype", sorted(SUBTYPES[NATURAL] - {"geological"}))
@pytest.mark.parametrize(("figure", "value", "level", "criterion"), NATURAL_BOUNDARIES)
def test_other_natural_disasters_grade_by_the_relief_plan(
    subtype: str, figure: str, value: int, level: Level, criterion: str
) -> None:
    result = classify(NATURAL, subtype, {figure: value})
    assert result.level == level
    assert result.basis[0].criterion == criterion


def test_a_flood_with_15_dead_and_5_missing_reaches_the_level_iv_row() -> None:
    result = classify(NATURAL, "flood", {"deaths": 15, "missing": 5})
    assert result.level == IV
    assert result.basis[0].criterion == "deaths incl. missing ≥ 20"
    assert result.basis[0].value == 20
    assert result.missing_counted_as_deaths is True


def test_a_local_storm_below_the_provincial_levels_is_still_general() -> None:
    result = classify(NATURAL, "storm", {"relocated": 3_000})
    assert result.level == IV
    assert result.computed_level == IV
    assert result.basis[0].value == "deaths incl. missing=0, relocated=3,000, rooms_collapsed=0"


def test_the_default_natural_disaster_subtype_is_other_natural() -> None:
    assert DEFAULT_SUBTYPE[NATURAL] == "other_natural"
    assert classify(NATURAL, None, {"deaths": 50}).level == III


# --- asserted level --------------------------------------------------------------------------


def test_an_earthquake_asserted_major_by_magnitude_stands_above_the_figures() -> None:
    result = classify(
        NATURAL,
        "earthquake",
        {"deaths": 5},
        asserted_level=II,
        asserted_basis="  M6.8 in a populated county (national earthquake plan)  ",
    )
    assert result.level == II
    assert result.computed_level == IV
    assert result.asserted_level == II
    assert result.basis[0] == BasisItem(
        "asserted", "M6.8 in a populated county (national earthquake plan)", II, "reporter"
    )
    assert result.basis[1].level == IV


def test_a_lower_assertion_does_not_lower_the_computed_level() -> None:
    result = classify(
        ACCIDENT, "fire", {"deaths": 12}, asserted_level=IV, asserted_basis="small fire"
    )
    assert result.level == II
    assert result.computed_level == II
    assert result.asserted_level == IV
    assert [b.level for b in result.basis] == [II, IV]


def test_an_assertion_needs_a_written_basis() -> None:
    with pytest.raises(ValueError, match="basis"):
        classify(ACCIDENT, "fire", {}, asserted_level=II)
    with pytest.raises(ValueError, match="basis"):
        classify(ACCIDENT, "fire", {}, asserted_level=II, asserted_basis="   ")
    with pytest.raises(ValueError, match="without an asserted level"):
        classify(ACCIDENT, "fire", {}, asserted_basis="because")


# --- food poisoning: the AND criterion -------------------------------------------------------

FOOD_POISONING_CASES = [
    (29, 0, IV, "below level IV thresholds → IV"),
    (30, 0, IV, "poisoned ≥ 30"),
    (99, 0, IV, "poisoned ≥ 30"),
    (100, 0, III, "poisoned ≥ 100"),
    (30, 1, III, "deaths ≥ 1"),
    (99, 1, III, "deaths ≥ 1"),
    (5, 1, III, "deaths ≥ 1"),
    (100, 1, II, "poisoned ≥ 100 and deaths ≥ 1"),
    (99, 9, III, "deaths ≥ 1"),
    (0, 9, III, "deaths ≥ 1"),
    (12, 10, II, "deaths ≥ 10"),
]


@pytest.mark.parametrize(("poisoned", "deaths", "level", "criterion"), FOOD_POISONING_CASES)
def test_food_poisoning_grades_on_people_poisoned_and_deaths_together(
    poisoned: int, deaths: int, level: Level, criterion: str
) -> None:
    result = classify(HEALTH, "food_poisoning", {"poisoned": poisoned, "deaths": deaths})
    assert result.level == level
    assert result.basis[0].criterion == criterion


def test_a_canteen_poisoning_of_120_with_one_death_is_major_with_both_figures_on_record() -> None:
    result = classify(HEALTH, "food_poisoning", {"poisoned": 120, "deaths": 1})
    assert [(b.criterion, b.value, b.level) for b in result.basis] == [
        ("poisoned ≥ 100 and deaths ≥ 1", "poisoned=120, deaths=1", II),
        ("poisoned ≥ 100", 120, III),
        ("deaths ≥ 1", 1, III),
    ]


def test_a_missing_person_is_not_a_food_poisoning_death() -> None:
    result = classify(HEALTH, "food_poisoning", {"poisoned": 40, "missing": 1})
    assert result.level == IV
    assert result.missing_counted_as_deaths is False


# --- named criteria --------------------------------------------------------------------------


def test_pneumonic_plague_spreading_in_a_city_is_particularly_serious() -> None:
    result = classify(
        HEALTH, "infectious_disease", {"cases": 3}, criteria=["pneumonic_plague_spreading_in_city"]
    )
    assert result.level == I
    assert result.computed_level == I
    assert result.basis[0].criterion == "pneumonic_plague_spreading_in_city"
    assert result.basis[0].level == I
    assert "Public Health Emergencies" in result.basis[0].source


def test_cholera_of_10_to_29_cases_in_a_week_is_larger() -> None:
    result = classify(HEALTH, None, {}, criteria=["cholera_10_29_cases_week_in_prefecture"])
    assert result.level == III


def test_the_most_severe_picked_criterion_wins_and_a_repeat_counts_once() -> None:
    result = classify(
        SOCIAL,
        "mass_incident",
        {},
        criteria=[
            "mass_incident_3_deaths_or_10_injured",
            "mass_incident_5000_participants",
            "mass_incident_3_deaths_or_10_injured",
        ],
    )
    assert result.level == I
    assert [b.criterion for b in result.basis] == [
        "mass_incident_5000_participants",
        "mass_incident_3_deaths_or_10_injured",
    ]


def test_food_poisoning_figures_and_a_picked_criterion_both_count() -> None:
    result = classify(
        HEALTH, "food_poisoning", {"poisoned": 40}, criteria=["dangerous_pathogen_lost"]
    )
    assert result.level == I
    assert [b.level for b in result.basis] == [I, IV]


def test_a_social_security_incident_with_nothing_picked_is_general_until_asserted() -> None:
    result = classify(SOCIAL, None, {"injuries": 4})
    assert result.level == IV
    assert result.computed_level is None
    assert result.basis[0].criterion == "no criterion picked and no level asserted → IV"
    asserted = classify(
        SOCIAL, "criminal_case", {}, asserted_level=III, asserted_basis="armed robbery, 2 dead"
    )
    assert asserted.level == III
    assert asserted.computed_level is None
    assert [b.criterion for b in asserted.basis] == ["asserted"]


def test_the_pick_list_is_the_subtypes_criteria_plus_the_category_wide_ones() -> None:
    food = {c.key for c in named_criteria(HEALTH, "food_poisoning")}
    assert food == {"dangerous_pathogen_lost"}
    infectious = {c.key for c in named_criteria(HEALTH, "infectious_disease")}
    assert "cholera_10_29_cases_week_in_prefecture" in infectious
    assert "dangerous_pathogen_lost" in infectious
    assert "occupational_poisoning_10_49" not in infectious
    everything = {c.key for c in named_criteria(HEALTH, None)}
    assert everything == {c.key for c in NAMED_CRITERIA if c.category == HEALTH}
    assert named_criteria(ACCIDENT, "mining") == ()


def test_named_criteria_are_well_formed() -> None:
    keys = [c.key for c in NAMED_CRITERIA]
    assert len(keys) == len(set(keys))
    for c in NAMED_CRITERIA:
        assert c.subtype is None or c.subtype in SUBTYPES[c.category]
        assert c.label.zh and c.label.en and c.source


def test_a_criterion_off_the_pick_list_is_refused() -> None:
    with pytest.raises(UnknownCriterion) as caught:
        classify(HEALTH, "food_poisoning", {}, criteria=["cholera_10_29_cases_week_in_prefecture"])
    assert caught.value.criterion == "cholera_10_29_cases_week_in_prefecture"
    with pytest.raises(UnknownCriterion):
        classify(HEALTH, None, {}, criteria=["plague"])
    with pytest.raises(UnknownCriterion):
        classify(ACCIDENT, "mining", {}, criteria=["mass_incident_5000_participants"])
    with pytest.raises(TypeError):
        classify(HEALTH, None, {}, criteria="dangerous_pathogen_lost")


# --- bad input -------------------------------------------------------------------------------


def test_an_unknown_subtype_is_refused_naming_category_and_subtype() -> None:
    with pytest.raises(UnknownSubtype) as caught:
        classify(ACCIDENT, "landslide", {"deaths": 3})
    assert isinstance(caught.value, ValueError)
    assert (caught.value.category, caught.value.subtype) == (ACCIDENT, "landslide")
    with pytest.raises(UnknownSubtype):
        named_criteria(SOCIAL, "flood")


def test_unknown_or_negative_figures_are_refused() -> None:
    with pytest.raises(UnknownFigure):
        classify(ACCIDENT, "mining", {"death": 3})
    with pytest.raises(ValueError):
        classify(ACCIDENT, "mining", {"deaths": -1})


def test_every_table_row_cites_its_source_and_every_subtype_is_known() -> None:
    for (category, subtype), table in THRESHOLD_TABLES.items():
        assert subtype in SUBTYPES[category]
        assert table.source
        assert all(row.source for row in table.rows)
    for category, subtype in DEFAULT_SUBTYPE.items():
        assert subtype in SUBTYPES[category]


# --- properties ------------------------------------------------------------------------------

SUBTYPE_PAIRS = sorted(
    (category, subtype) for category, subtypes in SUBTYPES.items() for subtype in subtypes
)
_MINIMUMS = {c.minimum for t in THRESHOLD_TABLES.values() for r in t.rows for c in r.conditions}
_BOUNDARIES = sorted({m - 1 for m in _MINIMUMS} | _MINIMUMS)
figure_values = st.one_of(
    st.integers(0, 300),
    st.integers(0, 3_000_000),
    st.integers(0, 200_000_000),
    st.sampled_from(_BOUNDARIES),
)
figure_maps = st.dictionaries(st.sampled_from(sorted(FIGURE_NAMES)), figure_values, max_size=6)
levels = st.sampled_from(list(Level))


@given(
    pair=st.sampled_from(SUBTYPE_PAIRS),
    figures=figure_maps,
    raised=st.sampled_from(sorted(FIGURE_NAMES)),
    by=figure_values,
)
def test_raising_any_single_figure_never_lowers_the_level(
    pair: tuple[Category, str], figures: dict[str, int], raised: str, by: int
) -> None:
    category, subtype = pair
    before = classify(category, subtype, figures)
    after = classify(category, subtype, {**figures, raised: figures.get(raised, 0) + by})
    assert rank(after.level) >= rank(before.level)


@given(pair=st.sampled_from(SUBTYPE_PAIRS), figures=figure_maps, asserted=levels)
def test_an_asserted_level_never_lowers_the_result(
    pair: tuple[Category, str], figures: dict[str, int], asserted: Level
) -> None:
    category, subtype = pair
    plain = classify(category, subtype, figures)
    with_assertion = classify(
        category, subtype, figures, asserted_level=asserted, asserted_basis="reporter's view"
    )
    assert with_assertion.level == max_level(plain.level, asserted)
    assert with_assertion.computed_level == plain.computed_level


@given(
    current=st.one_of(st.none(), levels),
    pair=st.sampled_from(SUBTYPE_PAIRS),
    figures=figure_maps,
)
def test_new_facts_raise_the_level_at_once_but_never_lower_it(
    current: Level | None, pair: tuple[Category, str], figures: dict[str, int]
) -> None:
    category, subtype = pair
    computed = classify(category, subtype, figures)
    after = next_level_after_facts(current, computed)
    assert at_least(after, computed.level)
    if current is not None:
        assert at_least(after, current)
        assert after in (current, computed.level)


def test_new_facts_on_a_major_incident_that_now_look_general_keep_it_major() -> None:
    general = classify(ACCIDENT, "mining", {"deaths": 1})
    assert next_level_after_facts(II, general) == II
    assert next_level_after_facts(None, general) == IV
    particularly_serious = classify(ACCIDENT, "mining", {"deaths": 31})
    assert next_level_after_facts(II, particularly_serious) == I
