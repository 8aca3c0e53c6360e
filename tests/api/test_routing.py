"""Who releases, seen through the API (RULES §2; Art. 15, 22, 25)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import (
    GUIZHOU,
    HONGHUAGANG,
    INCIDENTS,
    LIUPANSHUI,
    NANMING,
    PANZHOU,
    TONGZI,
    YUNYAN,
    ZHONGSHAN,
    ZUNYI,
    create,
)
from tests.conftest import Api

BASIS = "现场报告"


ROUTES = [
    (
        "a level III accident goes to the prefecture government",
        {"figures": {"deaths": 3}},
        "III",
        f"gov-{LIUPANSHUI}",
    ),
    (
        "a level IV accident stays with the county government",
        {"figures": {"injuries": 2}},
        "IV",
        f"gov-{PANZHOU}",
    ),
    (
        "a major mine accident goes to emergency management",
        {"subtype": "mining", "figures": {"deaths": 10}},
        "II",
        "dept-emergency_management",
    ),
    (
        "a particularly serious fire goes to emergency management",
        {"subtype": "fire", "figures": {"direct_loss_cny": 100_000_000}},
        "I",
        "dept-emergency_management",
    ),
    (
        "a major landslide goes to natural resources",
        {
            "category": "natural_disaster",
            "subtype": "geological",
            "figures": {"direct_loss_cny": 5_000_000},
        },
        "II",
        "dept-natural_resources",
    ),
    (
        "a major flood goes to emergency management",
        {
            "category": "natural_disaster",
            "subtype": "flood",
            "figures": {"relocated": 1_000_000},
        },
        "II",
        "dept-emergency_management",
    ),
    (
        "a major epidemic goes to the health commission",
        {
            "category": "public_health",
            "subtype": "infectious_disease",
            "criteria": ["cholera_30_cases_week_in_prefecture"],
            "figures": {},
        },
        "II",
        "dept-health_commission",
    ),
    (
        "a major food poisoning goes to the health commission",
        {
            "category": "public_health",
            "subtype": "food_poisoning",
            "figures": {"poisoned": 100, "deaths": 1},
        },
        "II",
        "dept-health_commission",
    ),
    (
        "a major road crash goes to public security",
        {"subtype": "road_traffic", "figures": {"deaths": 12}},
        "II",
        "dept-public_security",
    ),
    (
        "a level III road crash goes to the prefecture government",
        {"subtype": "road_traffic", "figures": {"deaths": 5}},
        "III",
        f"gov-{LIUPANSHUI}",
    ),
    (
        "Art. 25: a major mass incident goes to public security",
        {
            "category": "social_security",
            "subtype": "mass_incident",
            "asserted_level": "II",
            "asserted_basis": BASIS,
            "figures": {},
        },
        "II",
        "dept-public_security",
    ),
    (
        "Art. 25: a level III social security incident goes to the prefecture",
        {
            "category": "social_security",
            "subtype": "criminal_case",
            "asserted_level": "III",
            "asserted_basis": BASIS,
            "figures": {},
        },
        "III",
        f"gov-{LIUPANSHUI}",
    ),
    (
        "Art. 25: a level IV social security incident stays with the county",
        {"category": "social_security", "subtype": "other_social_security", "figures": {}},
        "IV",
        f"gov-{PANZHOU}",
    ),
]


@pytest.mark.parametrize(
    ("body", "level", "responsible"),
    [pytest.param(body, level, responsible, id=case) for case, body, level, responsible in ROUTES],
)
async def test_the_release_goes_to_the_organ_the_measures_name(
    api: Api, body: dict[str, Any], level: str, responsible: str
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter, **body)
    assert incident["level"] == level
    assert incident["responsible_org"]["id"] == responsible
    assert incident["co_signers"] == []


async def test_art_25_a_command_releases_for_a_social_security_incident_of_any_level(
    api: Api,
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    office = await api.token(GUIZHOU, "info_office")
    riot = await create(
        api, reporter, category="social_security", subtype="mass_incident", figures={}
    )
    url = f"{INCIDENTS}/{riot['id']}"
    commanded = (await api.post(f"{url}/command", reporter, json={"action": "establish"})).json()
    assert commanded["responsible_org"]["id"] == commanded["on_site_command"]["org_id"]
    stood_down = (await api.post(f"{url}/command", reporter, json={"action": "stand_down"})).json()
    assert stood_down["responsible_org"]["id"] == f"gov-{PANZHOU}"
    # Escalation plays no part in Art. 25: the handling authority keeps a major one.
    raised = await api.post(
        f"{url}/classification", office, json={"level": "II", "reason": "参与人数过千"}
    )
    assert raised.json()["responsible_org"]["id"] == "dept-public_security"
    escalated = await api.post(f"{url}/escalation", office, json={"reason": "省委关注"})
    assert escalated.status_code == 200
    assert escalated.json()["responsible_org"]["id"] == "dept-public_security"


@pytest.mark.parametrize(
    ("places", "figures", "responsible", "co_signers"),
    [
        # Level IV in two counties of two prefectures: the first county leads.
        ([PANZHOU, TONGZI], {}, f"gov-{PANZHOU}", [f"gov-{TONGZI}"]),
        # Level IV in two counties of one prefecture.
        ([NANMING, YUNYAN], {}, f"gov-{NANMING}", [f"gov-{YUNYAN}"]),
        # Level III in two prefectures: each prefecture government, the first leads.
        ([PANZHOU, HONGHUAGANG], {"deaths": 3}, f"gov-{LIUPANSHUI}", [f"gov-{ZUNYI}"]),
        # Level III in two counties of one prefecture: the prefecture alone.
        ([PANZHOU, ZHONGSHAN], {"deaths": 3}, f"gov-{LIUPANSHUI}", []),
        # Level IV naming a county and its prefecture: computed on the highest, the prefecture.
        ([PANZHOU, LIUPANSHUI], {}, f"gov-{LIUPANSHUI}", []),
        # Level II is provincial: no co-signers.
        ([PANZHOU, TONGZI], {"deaths": 10}, "dept-emergency_management", []),
    ],
)
async def test_an_incident_across_divisions_has_its_other_governments_co_sign(
    api: Api,
    places: list[str],
    figures: dict[str, int],
    responsible: str,
    co_signers: list[str],
) -> None:
    reporter = await api.token(GUIZHOU, "reporter")
    incident = await create(api, reporter, division_codes=places, figures=figures)
    assert incident["responsible_org"]["id"] == responsible
    assert [c["id"] for c in incident["co_signers"]] == co_signers
    for signer in incident["co_signers"]:
        assert signer["name_zh"].endswith("人民政府")


async def test_a_co_signing_government_sees_the_incident_it_confirms(api: Api) -> None:
    reporter = await api.token(GUIZHOU, "reporter")
    incident = await create(api, reporter, division_codes=[PANZHOU, TONGZI])
    tongzi = await api.token(TONGZI, "viewer")
    assert (await api.get(f"{INCIDENTS}/{incident['id']}", tongzi)).status_code == 200
    listed = await api.get(INCIDENTS, tongzi)
    assert [i["id"] for i in listed.json()["items"]] == [incident["id"]]
