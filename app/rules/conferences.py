"""Press conferences (Art. 28-35) as pure rules: who approves, who files, what must be ready.

No I/O and no clock: the workflow passes the host organ's kind and the level of its
division, the rostrum and the materials it has; the answers name the article that
decides them. The filing deadline itself is `app.rules.obligations.conference_filing_due`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from app.rules.levels import Label

# Art. 32: the rostrum holds only people with a release task, normally at most five.
# The Measures say "usually"; the product refuses a sixth and keeps the number here.
MAX_ROSTRUM = 5


class MaterialKind(StrEnum):
    press_release = "press_release"
    background = "background"
    data_index = "data_index"
    # Art. 33: after the conference the published texts go to the reporters.
    transcript = "transcript"
    other = "other"


MATERIAL_LABELS = {
    MaterialKind.press_release: Label("新闻稿", "press release"),
    MaterialKind.background: Label("背景材料", "background material"),
    MaterialKind.data_index: Label("数据索引", "data index"),
    MaterialKind.transcript: Label("发布文本", "published text"),
    MaterialKind.other: Label("其他材料", "other material"),
}

# Art. 33: what an organ prepares before it holds a conference.
REQUIRED_MATERIALS: tuple[MaterialKind, ...] = (
    MaterialKind.press_release,
    MaterialKind.background,
    MaterialKind.data_index,
)


class Approver(StrEnum):
    """Whose approval a provincial-government conference needs (Art. 31(1))."""

    deputy_governor_in_charge = "deputy_governor_in_charge"
    governor = "governor"


APPROVER_LABELS = {
    Approver.deputy_governor_in_charge: Label("分管副省长", "deputy governor in charge"),
    Approver.governor: Label("省长", "governor"),
}


@dataclass(frozen=True)
class Host:
    """The organ that holds the conference, as the rules need to see it.

    `kind` is the organ kind (government, information_office, department,
    on_site_command); `division_level` the level of its division (province,
    prefecture, county, new_area).
    """

    kind: str
    division_level: str


@dataclass(frozen=True)
class Requirement:
    needed: bool
    article: str | None = None
    reason: str = ""


class RostrumFull(ValueError):
    """Art. 32 refuses a sixth person on the rostrum."""

    def __init__(self, count: int) -> None:
        super().__init__(
            f"{count} speakers on the rostrum; at most {MAX_ROSTRUM} people sit there (Art. 32)"
        )
        self.count = count


def check_rostrum(count: int) -> None:
    """Art. 32: at most five people, each with a release task, on the rostrum."""
    if count > MAX_ROSTRUM:
        raise RostrumFull(count)


def _government_side(host: Host) -> bool:
    # Art. 30: the information office organises its government's conferences, so a
    # conference it hosts is the government's conference.
    return host.kind in ("government", "information_office")


def approval_needed(host: Host, *, major_matter: bool = False) -> Requirement:
    """Art. 31(1): the provincial government's conference is held after the deputy governor
    in charge approves it; a major matter needs the governor."""
    if _government_side(host) and host.division_level == "province":
        who = required_approver(major_matter=major_matter)
        return Requirement(
            True,
            "Art. 31(1)",
            f"a provincial-government conference is approved by the {APPROVER_LABELS[who].en}",
        )
    return Requirement(False)


def required_approver(*, major_matter: bool) -> Approver:
    return Approver.governor if major_matter else Approver.deputy_governor_in_charge


def approver_suffices(given: Approver, *, major_matter: bool) -> bool:
    """Art. 31(1): the governor may approve anything; a major matter only the governor."""
    return given == Approver.governor or not major_matter


def filing_needed(host: Host, *, significant: bool, emergency: bool) -> Requirement:
    """Art. 31(2)-(3): which conferences are filed with the provincial information office.

    - A provincial department's own conference: always (Art. 31(2)).
    - A prefecture-level government's conference: when the matter is significant
      (Art. 31(3)). Gui'an New District's administrative committee sits at the same
      level under the province and is treated alike.
    - An emergency conference on an incident is exempt: Art. 23 wants it within
      24 hours, which five working days' notice could never meet, and Art. 31
      governs the conferences an organ plans on its own initiative.
    """
    if emergency:
        return Requirement(False, reason="an emergency conference (Art. 23) is not filed ahead")
    if host.kind == "department":
        return Requirement(True, "Art. 31(2)", "a provincial department's own conference")
    if _government_side(host) and host.division_level in ("prefecture", "new_area") and significant:
        return Requirement(
            True, "Art. 31(3)", "a significant conference of a prefecture-level government"
        )
    return Requirement(False)


def missing_materials(have: Iterable[str]) -> list[MaterialKind]:
    """Art. 33: the required materials not yet prepared, in the order the article lists them."""
    present = set(have)
    return [kind for kind in REQUIRED_MATERIALS if kind.value not in present]
