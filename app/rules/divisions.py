"""The directory of administrative divisions (RULES §2, §6).

Places are GB/T 2260 codes; the prefecture and county governments of a place
are found by walking up the tree. The caller reads the CSV and hands the rows
to `load_divisions`; nothing here touches the file system.

Gui'an New District has no GB/T 2260 code: it is a state-level new area run by
the province, administering parts of four counties that still belong to their
prefectures. It gets a private code, sits directly under the province, and its
jurisdiction reaches those counties; a county's prefecture stays its real one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, cast, get_args

DivisionLevel = Literal["province", "prefecture", "county", "new_area"]
DIVISION_LEVELS: frozenset[str] = frozenset(get_args(DivisionLevel))

GUIAN_CODE = "52GA00"
# Huaxi, Qingzhen, Xixiu, Pingba: Gui'an administers parts of each.
GUIAN_COUNTIES: tuple[str, ...] = ("520111", "520181", "520402", "520403")


class UnknownDivision(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown division code {code!r}")
        self.code = code


@dataclass(frozen=True)
class Division:
    code: str
    name_zh: str
    name_en: str
    level: DivisionLevel
    parent_code: str | None

    def __post_init__(self) -> None:
        if self.level not in DIVISION_LEVELS:
            raise ValueError(f"division {self.code}: unknown level {self.level!r}")
        if (self.level == "province") != (self.parent_code is None):
            raise ValueError(f"division {self.code}: only the province has no parent")


GUIAN = Division(GUIAN_CODE, "贵安新区", "Gui'an New District", "new_area", "520000")

# Divisions whose jurisdiction reaches counties that are not their children.
DEFAULT_ADMINISTERED: Mapping[str, tuple[str, ...]] = MappingProxyType({GUIAN_CODE: GUIAN_COUNTIES})


class DivisionTree:
    def __init__(
        self,
        divisions: Iterable[Division],
        *,
        administered: Mapping[str, Iterable[str]] = DEFAULT_ADMINISTERED,
    ) -> None:
        self._by_code: dict[str, Division] = {}
        for division in divisions:
            if division.code in self._by_code:
                raise ValueError(f"duplicate division code {division.code}")
            self._by_code[division.code] = division
        provinces = [d.code for d in self._by_code.values() if d.level == "province"]
        if len(provinces) != 1:
            raise ValueError(f"the directory needs exactly one province, got {provinces}")
        self._province = provinces[0]

        self._children: dict[str, list[str]] = {code: [] for code in self._by_code}
        for division in self._by_code.values():
            if division.parent_code is None:
                continue
            if division.parent_code not in self._by_code:
                raise ValueError(f"division {division.code}: unknown parent {division.parent_code}")
            self._children[division.parent_code].append(division.code)

        # Entries for divisions absent from this directory are ignored (small test trees).
        self._administered: dict[str, tuple[str, ...]] = {}
        for code, counties in administered.items():
            if code in self._by_code:
                self._administered[code] = tuple(counties)
                for county in self._administered[code]:
                    self.get(county)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Division]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    @property
    def province_code(self) -> str:
        return self._province

    def get(self, code: str) -> Division:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownDivision(code) from None

    def ancestors(self, code: str) -> tuple[str, ...]:
        """Parent first, up to the province; the division itself is not included."""
        chain = []
        parent = self.get(code).parent_code
        while parent is not None:
            chain.append(parent)
            parent = self._by_code[parent].parent_code
        return tuple(chain)

    def prefecture_of(self, code: str) -> str | None:
        """The prefecture containing `code` (itself if a prefecture); None above or beside one."""
        for candidate in (code, *self.ancestors(code)):
            if self._by_code[candidate].level == "prefecture":
                return candidate
        return None

    def county_of(self, code: str) -> str | None:
        """`code` itself if it is a county; None for the province, a prefecture or Gui'an."""
        return code if self.get(code).level == "county" else None

    def descendants(self, code: str) -> frozenset[str]:
        """`code` and every division below it, including the counties it administers."""
        found: set[str] = set()
        stack = [code]
        self.get(code)
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.add(current)
            stack.extend(self._children[current])
            stack.extend(self._administered.get(current, ()))
        return frozenset(found)

    def in_jurisdiction(self, org_division_code: str, code: str) -> bool:
        """RULES §6: an organ's jurisdiction is its division and every division below it."""
        self.get(code)
        return code in self.descendants(org_division_code)


def load_divisions(rows: Iterable[Mapping[str, str]]) -> DivisionTree:
    """Build the tree from CSV rows (code,name_zh,name_en,level,parent_code), adding Gui'an."""
    divisions = []
    for row in rows:
        divisions.append(
            Division(
                code=row["code"].strip(),
                name_zh=row["name_zh"].strip(),
                name_en=row["name_en"].strip(),
                level=cast(DivisionLevel, row["level"].strip()),  # checked by Division
                parent_code=(row.get("parent_code") or "").strip() or None,
            )
        )
    if all(d.code != GUIAN_CODE for d in divisions):
        divisions.append(GUIAN)
    return DivisionTree(divisions)
