import csv
from pathlib import Path

import pytest

import app
from app.rules.divisions import (
    GUIAN_CODE,
    GUIAN_COUNTIES,
    Division,
    DivisionTree,
    UnknownDivision,
    load_divisions,
)

CSV_PATH = Path(app.__file__).parent / "data" / "guizhou_divisions.csv"

GUIZHOU = "520000"
GUIYANG = "520100"
ANSHUN = "520400"
NANMING = "520102"  # Guiyang
HUAXI = "520111"  # Guiyang, partly administered by Gui'an
QINGZHEN = "520181"  # Guiyang, partly administered by Gui'an
XIXIU = "520402"  # Anshun, partly administered by Gui'an
PINGBA = "520403"  # Anshun, partly administered by Gui'an
ZHONGSHAN = "520201"  # Liupanshui


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with CSV_PATH.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def tree(rows: list[dict[str, str]]) -> DivisionTree:
    return load_divisions(rows)


def test_the_real_directory_has_the_province_9_prefectures_88_counties_and_guian(
    rows: list[dict[str, str]], tree: DivisionTree
) -> None:
    assert len(rows) == 98
    assert len(tree) == 99
    levels = [d.level for d in tree]
    assert levels.count("province") == 1
    assert levels.count("prefecture") == 9
    assert levels.count("county") == 88
    assert levels.count("new_area") == 1
    assert tree.province_code == GUIZHOU


def test_a_name_with_a_comma_is_read_whole(tree: DivisionTree) -> None:
    weining = tree.get("520526")
    assert weining.name_zh == "威宁彝族回族苗族自治县"
    assert weining.name_en == "Weining Yi, Hui and Miao Autonomous County"
    assert weining.parent_code == "520500"


def test_guian_sits_under_the_province_with_its_own_code(tree: DivisionTree) -> None:
    guian = tree.get(GUIAN_CODE)
    assert guian == Division(GUIAN_CODE, "贵安新区", "Gui'an New District", "new_area", GUIZHOU)
    assert tree.ancestors(GUIAN_CODE) == (GUIZHOU,)
    assert tree.prefecture_of(GUIAN_CODE) is None
    assert tree.county_of(GUIAN_CODE) is None


def test_guian_jurisdiction_is_itself_and_the_four_counties_it_administers(
    tree: DivisionTree,
) -> None:
    assert GUIAN_COUNTIES == (HUAXI, QINGZHEN, XIXIU, PINGBA)
    assert tree.descendants(GUIAN_CODE) == {GUIAN_CODE, HUAXI, QINGZHEN, XIXIU, PINGBA}
    assert tree.in_jurisdiction(GUIAN_CODE, PINGBA)
    assert not tree.in_jurisdiction(GUIAN_CODE, NANMING)
    assert not tree.in_jurisdiction(GUIAN_CODE, ANSHUN)


def test_a_guian_county_keeps_its_real_prefecture(tree: DivisionTree) -> None:
    assert tree.prefecture_of(HUAXI) == GUIYANG
    assert tree.prefecture_of(XIXIU) == ANSHUN
    assert tree.ancestors(PINGBA) == (ANSHUN, GUIZHOU)
    assert tree.in_jurisdiction(ANSHUN, XIXIU)
    assert tree.in_jurisdiction(GUIYANG, QINGZHEN)


def test_ancestors_walk_up_to_the_province(tree: DivisionTree) -> None:
    assert tree.ancestors(NANMING) == (GUIYANG, GUIZHOU)
    assert tree.ancestors(GUIYANG) == (GUIZHOU,)
    assert tree.ancestors(GUIZHOU) == ()


def test_prefecture_and_county_of_each_kind_of_division(tree: DivisionTree) -> None:
    assert tree.prefecture_of(ZHONGSHAN) == "520200"
    assert tree.prefecture_of(GUIYANG) == GUIYANG
    assert tree.prefecture_of(GUIZHOU) is None
    assert tree.county_of(ZHONGSHAN) == ZHONGSHAN
    assert tree.county_of(GUIYANG) is None
    assert tree.county_of(GUIZHOU) is None


def test_every_county_has_a_real_prefecture(tree: DivisionTree) -> None:
    for division in tree:
        if division.level == "county":
            prefecture = tree.prefecture_of(division.code)
            assert prefecture is not None
            assert tree.get(prefecture).level == "prefecture"


def test_descendants_of_a_prefecture_are_itself_and_its_counties(tree: DivisionTree) -> None:
    guiyang = tree.descendants(GUIYANG)
    assert len(guiyang) == 11
    assert {GUIYANG, NANMING, HUAXI, QINGZHEN} <= guiyang
    assert GUIAN_CODE not in guiyang
    assert tree.descendants(NANMING) == {NANMING}


def test_the_province_sees_everything(tree: DivisionTree) -> None:
    assert tree.descendants(GUIZHOU) == {d.code for d in tree}
    assert tree.in_jurisdiction(GUIZHOU, GUIAN_CODE)
    assert tree.in_jurisdiction(GUIZHOU, ZHONGSHAN)


def test_a_county_does_not_see_its_neighbour_or_its_prefecture(tree: DivisionTree) -> None:
    assert tree.in_jurisdiction(NANMING, NANMING)
    assert not tree.in_jurisdiction(NANMING, HUAXI)
    assert not tree.in_jurisdiction(NANMING, GUIYANG)
    assert not tree.in_jurisdiction(GUIYANG, ZHONGSHAN)


def test_an_unknown_code_is_refused(tree: DivisionTree) -> None:
    with pytest.raises(UnknownDivision):
        tree.get("529999")
    with pytest.raises(UnknownDivision):
        tree.in_jurisdiction(GUIZHOU, "529999")
    assert "529999" not in tree
    assert GUIAN_CODE in tree


def test_a_broken_directory_is_refused() -> None:
    province = Division(GUIZHOU, "贵州省", "Guizhou Province", "province", None)
    orphan = Division(NANMING, "南明区", "Nanming District", "county", GUIYANG)
    with pytest.raises(ValueError, match="unknown parent"):
        DivisionTree([province, orphan])
    with pytest.raises(ValueError, match="duplicate"):
        DivisionTree([province, province])
    with pytest.raises(ValueError, match="exactly one province"):
        DivisionTree([])
    with pytest.raises(ValueError, match="unknown level"):
        load_divisions(
            [{"code": "1", "name_zh": "x", "name_en": "x", "level": "town", "parent_code": ""}]
        )


def test_loading_does_not_add_guian_twice(rows: list[dict[str, str]]) -> None:
    guian_row = {
        "code": GUIAN_CODE,
        "name_zh": "贵安新区",
        "name_en": "Gui'an New District",
        "level": "new_area",
        "parent_code": GUIZHOU,
    }
    assert len(load_divisions([*rows, guian_row])) == 99
