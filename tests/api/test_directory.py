"""The directory of organs and divisions, and Gui'an New District's reach."""

from __future__ import annotations

from tests.api.helpers import (
    GUIAN,
    GUIYANG,
    GUIZHOU,
    HUAXI,
    INCIDENTS,
    NANMING,
    PANZHOU,
    PINGBA,
    QINGZHEN,
    XIXIU,
    ZUNYI,
    assert_problem,
    create,
)
from tests.conftest import Api


async def _orgs(api: Api, headers: dict[str, str], query: str = "") -> list[dict[str, str]]:
    response = await api.get(f"/api/v1/orgs?{query}", headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, str]] = response.json()["items"]
    return items


async def test_the_province_has_its_governments_offices_and_departments(api: Api) -> None:
    viewer = await api.token(PANZHOU, "viewer")
    everyone = await _orgs(api, viewer)
    # 1 province, 9 prefectures, Gui'an and 88 counties: a government and an office each.
    assert len([o for o in everyone if o["kind"] == "government"]) == 99
    assert len([o for o in everyone if o["kind"] == "information_office"]) == 99
    departments = await _orgs(api, viewer, "kind=department")
    assert [d["id"] for d in departments] == [
        "dept-emergency_management",
        "dept-health_commission",
        "dept-natural_resources",
        "dept-public_security",
    ]
    assert {d["division_code"] for d in departments} == {GUIZHOU}
    assert {d["parent_id"] for d in departments} == {f"gov-{GUIZHOU}"}
    assert departments[0]["name_zh"] == "贵州省应急管理厅"

    zunyi = await _orgs(api, viewer, f"division={ZUNYI}")
    assert zunyi == [
        {
            "id": f"gov-{ZUNYI}",
            "name_zh": "遵义市人民政府",
            "name_en": "Zunyi City People's Government",
            "kind": "government",
            "division_code": ZUNYI,
            "parent_id": f"gov-{GUIZHOU}",
        },
        {
            "id": f"io-{ZUNYI}",
            "name_zh": "遵义市人民政府新闻办公室",
            "name_en": "Information Office of Zunyi City People's Government",
            "kind": "information_office",
            "division_code": ZUNYI,
            "parent_id": f"gov-{ZUNYI}",
        },
    ]
    offices = await _orgs(api, viewer, f"kind=information_office&division={PANZHOU}")
    assert [o["id"] for o in offices] == [f"io-{PANZHOU}"]
    assert (await api.get(f"/api/v1/orgs/gov-{PANZHOU}", viewer)).json()["parent_id"] == (
        "gov-520200"
    )


async def test_unknown_directory_entries_and_filters_are_refused(api: Api) -> None:
    viewer = await api.token(PANZHOU, "viewer")
    assert_problem(await api.get("/api/v1/orgs/gov-999999", viewer), 404)
    assert_problem(await api.get("/api/v1/divisions/529999", viewer), 404)
    assert_problem(await api.get("/api/v1/orgs?kind=ministry", viewer), 422, "kind")
    assert_problem(await api.get("/api/v1/orgs?division=529999", viewer), 422, "division")


async def test_a_division_knows_its_level_and_parent(api: Api) -> None:
    viewer = await api.token(PANZHOU, "viewer")
    county = (await api.get(f"/api/v1/divisions/{PANZHOU}", viewer)).json()
    assert county == {
        "code": PANZHOU,
        "name_zh": "盘州市",
        "name_en": "Panzhou City",
        "level": "county",
        "parent_code": "520200",
    }
    province = (await api.get(f"/api/v1/divisions/{GUIZHOU}", viewer)).json()
    assert (province["level"], province["parent_code"]) == ("province", None)
    guian = (await api.get(f"/api/v1/divisions/{GUIAN}", viewer)).json()
    assert guian == {
        "code": GUIAN,
        "name_zh": "贵安新区",
        "name_en": "Gui'an New District",
        "level": "new_area",
        "parent_code": GUIZHOU,
    }
    # The counties Gui'an runs parts of still belong to their prefectures.
    huaxi = (await api.get(f"/api/v1/divisions/{HUAXI}", viewer)).json()
    assert huaxi["parent_code"] == GUIYANG


async def test_guian_sees_its_four_counties_and_nothing_else(api: Api) -> None:
    guian = await api.token(GUIAN, "viewer", "reporter")
    me = (await api.get("/api/v1/me", guian)).json()
    assert me["org"]["id"] == f"gov-{GUIAN}"
    assert me["org"]["name_zh"] == "贵安新区管理委员会"
    assert me["jurisdiction"] == sorted([GUIAN, HUAXI, QINGZHEN, XIXIU, PINGBA])

    province = await api.token(GUIZHOU, "reporter")
    in_pingba = await create(api, province, division_codes=[PINGBA])
    in_nanming = await create(api, province, division_codes=[NANMING])
    reported = await create(api, guian, division_codes=[HUAXI])
    listed = {i["id"] for i in (await api.get(INCIDENTS, guian)).json()["items"]}
    assert listed == {in_pingba["id"], reported["id"]}
    assert (await api.get(f"{INCIDENTS}/{in_pingba['id']}", guian)).status_code == 200
    assert_problem(await api.get(f"{INCIDENTS}/{in_nanming['id']}", guian), 404)
    filtered = await api.get(f"{INCIDENTS}?division={GUIAN}", guian)
    assert {i["id"] for i in filtered.json()["items"]} == {in_pingba["id"], reported["id"]}

    # A level IV incident in Huaxi is still Huaxi's; Gui'an does not take it from the county.
    assert reported["responsible_org"]["id"] == f"gov-{HUAXI}"
