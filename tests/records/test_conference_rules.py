"""The press-conference rules (Art. 31-33) as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.rules import conferences as rules
from app.rules.conferences import Approver, Host, MaterialKind
from app.rules.obligations import conference_filing_due

PROVINCE_GOVERNMENT = Host("government", "province")
PROVINCE_OFFICE = Host("information_office", "province")
DEPARTMENT = Host("department", "province")
PREFECTURE = Host("government", "prefecture")
PREFECTURE_OFFICE = Host("information_office", "prefecture")
GUIAN = Host("government", "new_area")
COUNTY = Host("government", "county")
COMMAND = Host("on_site_command", "county")


def test_five_on_the_rostrum_and_not_six() -> None:
    rules.check_rostrum(5)
    with pytest.raises(rules.RostrumFull, match=r"Art\. 32"):
        rules.check_rostrum(6)


@pytest.mark.parametrize("host", [PROVINCE_GOVERNMENT, PROVINCE_OFFICE])
def test_the_provincial_government_needs_its_deputy_governor_or_governor(host: Host) -> None:
    ordinary = rules.approval_needed(host)
    assert (ordinary.needed, ordinary.article) == (True, "Art. 31(1)")
    assert ordinary.reason.endswith("by the deputy governor in charge")
    assert rules.approval_needed(host, major_matter=True).reason.endswith("by the governor")
    assert rules.required_approver(major_matter=False) == Approver.deputy_governor_in_charge
    assert rules.required_approver(major_matter=True) == Approver.governor


@pytest.mark.parametrize("host", [DEPARTMENT, PREFECTURE, PREFECTURE_OFFICE, COUNTY, COMMAND])
def test_no_one_else_needs_that_approval(host: Host) -> None:
    assert rules.approval_needed(host, major_matter=True).needed is False


def test_the_governor_approves_anything_the_deputy_not_a_major_matter() -> None:
    assert rules.approver_suffices(Approver.governor, major_matter=True)
    assert rules.approver_suffices(Approver.governor, major_matter=False)
    assert rules.approver_suffices(Approver.deputy_governor_in_charge, major_matter=False)
    assert not rules.approver_suffices(Approver.deputy_governor_in_charge, major_matter=True)


def test_who_files_with_the_provincial_information_office() -> None:
    def filed(host: Host, *, significant: bool = False, emergency: bool = False) -> str | None:
        answer = rules.filing_needed(host, significant=significant, emergency=emergency)
        return answer.article if answer.needed else None

    # Art. 31(2): every conference a department holds on its own.
    assert filed(DEPARTMENT) == "Art. 31(2)"
    # Art. 31(3): a prefecture-level government's, when the matter is significant.
    assert filed(PREFECTURE) is None
    assert filed(PREFECTURE, significant=True) == "Art. 31(3)"
    assert filed(PREFECTURE_OFFICE, significant=True) == "Art. 31(3)"
    assert filed(GUIAN, significant=True) == "Art. 31(3)"
    # Nobody else; and an emergency conference on an incident is never filed ahead.
    for host in (PROVINCE_GOVERNMENT, PROVINCE_OFFICE, COUNTY, COMMAND):
        assert filed(host, significant=True) is None
    assert filed(DEPARTMENT, emergency=True) is None
    assert filed(PREFECTURE, significant=True, emergency=True) is None


def test_the_materials_art_33_asks_for() -> None:
    assert rules.missing_materials([]) == [
        MaterialKind.press_release,
        MaterialKind.background,
        MaterialKind.data_index,
    ]
    assert rules.missing_materials(["data_index", "transcript", "press_release"]) == [
        MaterialKind.background
    ]
    assert rules.missing_materials(["press_release", "background", "data_index"]) == []


@pytest.mark.parametrize(
    ("conference", "due"),
    [
        # National Day: 1-7 Oct off, Sat 10 Oct worked.
        (datetime(2026, 10, 12, 2, 0, tzinfo=UTC), datetime(2026, 9, 29, 16, 0, tzinfo=UTC)),
        # Spring Festival 2026: 15-23 Feb off, Sat 14 Feb worked: Thu 26 Feb → 25, 24, 14,
        # 13, 12 Feb.
        (datetime(2026, 2, 26, 2, 0, tzinfo=UTC), datetime(2026, 2, 12, 16, 0, tzinfo=UTC)),
        # 00:30 Beijing on Mon 7 Dec is Sunday 6 Dec in UTC: counted from the local Monday.
        (datetime(2026, 12, 6, 16, 30, tzinfo=UTC), datetime(2026, 11, 30, 16, 0, tzinfo=UTC)),
    ],
)
def test_filing_is_due_five_working_days_before_on_the_official_calendar(
    conference: datetime, due: datetime
) -> None:
    spec = conference_filing_due(conference, by_prefecture=True)
    assert spec.due_at == due
    assert spec.article == "Art. 31(3)"
    assert conference_filing_due(conference).article == "Art. 31(2)"
