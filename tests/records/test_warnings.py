"""Early warnings through the API (Art. 24): drafted, passed through the release work flow,
exported as CAP 1.2 and listed in an Atom feed that a feed reader reads."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from xml.etree.ElementTree import Element

import feedparser
import pytest
from defusedxml import ElementTree as SafeET
from sqlalchemy import select

from app.clock import ManualClock
from app.models import Event
from app.publishing.cap import (
    CAP_CATEGORIES,
    CAP_CERTAINTIES,
    CAP_MSG_TYPES,
    CAP_NS,
    CAP_SCOPES,
    CAP_SEVERITIES,
    CAP_STATUSES,
    CAP_URGENCIES,
)
from app.workflows import warnings as warnings_wf
from tests.api.helpers import assert_problem
from tests.conftest import T0, Api
from tests.records.helpers import EMERGENCY, FEED, NATURAL_RESOURCES, WARNINGS, Office

NS = {"cap": CAP_NS}
CAP_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
# GB/T 35965.1: division (6) + sector (3) + unit (3) + extension (2) _ time (14) _ serial.
IDENTIFIER = re.compile(r"^\d{14}_\d{14}_\d$")
SENDER = f"{NATURAL_RESOURCES}@127.0.0.1"


def warning_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "colour": "orange",
        "event": "地质灾害",
        "areas": ["520204", "520281"],
        "onset": "2026-11-27T04:00:00Z",
        "expires": "2026-11-28T04:00:00Z",
        "description": "受持续强降雨影响，水城区、盘州市发生崩塌、滑坡的风险高。",
        "instruction": "危险区群众立即撤离，远离陡坡和沟谷。",
        "category": "Geo",
        "urgency": "Expected",
        "certainty": "Likely",
        "response_types": ["Evacuate"],
        "channels": ["website", "weibo"],
    }
    body.update(overrides)
    return body


def parse(xml: bytes) -> Element:
    root: Element = SafeET.fromstring(xml)
    return root


def one(node: Element, path: str) -> str:
    found = node.findall(path, NS)
    assert len(found) == 1, f"{path}: {len(found)} elements"
    assert found[0].text, path
    return found[0].text


async def _issue(api: Api, office: Office, **overrides: Any) -> dict[str, Any]:
    response = await api.post(WARNINGS, await office.as_("drafter"), warning_body(**overrides))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _publish(api: Api, office: Office, warning: dict[str, Any]) -> dict[str, Any]:
    """Walk the message's release to its last step, then publish it as a warning."""
    await office.walk(warning["release"]["id"], publish=False)
    response = await api.post(f"{WARNINGS}/{warning['id']}/publish", await office.as_("drafter"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _announced(api: Api) -> list[Event]:
    async with api.db.read() as session:
        events = await session.execute(select(Event).where(Event.type == "warning.published"))
        return list(events.scalars())


async def _cap(api: Api, warning_id: str) -> Element:
    response = await api.client.get(f"{WARNINGS}/{warning_id}.cap")  # no token: it is public
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/cap+xml")
    return parse(response.content)


def check_cap_1_2(alert: Element) -> None:
    """Every element CAP 1.2 requires, once, with values its enumerations allow."""
    assert alert.tag == f"{{{CAP_NS}}}alert"
    assert IDENTIFIER.match(one(alert, "cap:identifier"))
    assert one(alert, "cap:sender") == SENDER
    assert CAP_DATETIME.match(one(alert, "cap:sent"))
    assert one(alert, "cap:status") in CAP_STATUSES
    assert one(alert, "cap:msgType") in CAP_MSG_TYPES
    assert one(alert, "cap:scope") in CAP_SCOPES
    infos = alert.findall("cap:info", NS)
    assert len(infos) >= 1
    for info in infos:
        assert all(c.text in CAP_CATEGORIES for c in info.findall("cap:category", NS))
        assert info.findall("cap:category", NS)
        assert one(info, "cap:event")
        assert one(info, "cap:urgency") in CAP_URGENCIES
        assert one(info, "cap:severity") in CAP_SEVERITIES
        assert one(info, "cap:certainty") in CAP_CERTAINTIES
        for tag in ("cap:onset", "cap:expires"):
            for node in info.findall(tag, NS):
                assert node.text and CAP_DATETIME.match(node.text)
        areas = info.findall("cap:area", NS)
        assert areas
        for area in areas:
            assert one(area, "cap:areaDesc")


async def test_an_orange_geological_warning_goes_out_as_cap_1_2(
    api: Api, clock: ManualClock
) -> None:
    office = Office(api, NATURAL_RESOURCES)
    warning = await _issue(api, office)
    assert warning["status"] == "draft"
    assert warning["msg_type"] == "Alert"
    assert warning["chain_state"] == "pending"
    assert warning["level"] == "II"
    assert warning["severity"] == "Severe"
    assert warning["headline"] == "贵州省自然资源厅发布地质灾害橙色预警"
    assert warning["areas"] == [
        {"code": "520204", "name_zh": "水城区", "name_en": "Shuicheng District"},
        {"code": "520281", "name_zh": "盘州市", "name_en": "Panzhou City"},
    ]
    # Entered 2026-11-27 10:00:00 Beijing time, first of that second.
    assert warning["identifier"] == "52000000000000_20261127100000_0"
    assert warning["cap_url"] is None

    # The release that carries it is an early_warning in its organ's work flow.
    release = await api.get(
        f"/api/v1/releases/{warning['release']['id']}", await office.as_("drafter")
    )
    assert release.json()["kind"] == "early_warning"
    assert release.json()["channels"] == ["website", "weibo"]
    # Art. 24 in the words people read: colour and level, area, start and end (Beijing
    # time), what to do.
    body = release.json()["body"]
    assert "预警级别：橙色（II级）。" in body
    assert "预警区域：水城区、盘州市。" in body
    assert "起始时间：2026年11月27日12时00分；截止时间：2026年11月28日12时00分。" in body
    assert "防御指引：危险区群众立即撤离" in body

    # Nothing is public before it is published.
    assert_problem(await api.client.get(f"{WARNINGS}/{warning['id']}.cap"), 404)

    clock.advance(minutes=20)
    published = await _publish(api, office, warning)
    assert published["status"] == "published"
    assert published["sent_at"] == "2026-11-27T02:20:00Z"
    assert published["chain_state"] == "active"
    assert published["in_force"] is True
    assert published["cap_url"] == f"http://127.0.0.1:8000/api/v1/warnings/{warning['id']}.cap"

    alert = await _cap(api, warning["id"])
    check_cap_1_2(alert)
    assert one(alert, "cap:identifier") == "52000000000000_20261127100000_0"
    assert one(alert, "cap:sent") == "2026-11-27T10:20:00+08:00"
    assert one(alert, "cap:status") == "Actual"
    assert one(alert, "cap:msgType") == "Alert"
    assert one(alert, "cap:scope") == "Public"
    assert alert.find("cap:references", NS) is None
    info = alert.find("cap:info", NS)
    assert info is not None
    assert one(info, "cap:language") == "zh-CN"
    assert one(info, "cap:category") == "Geo"
    assert one(info, "cap:event") == "地质灾害"
    assert one(info, "cap:responseType") == "Evacuate"
    assert one(info, "cap:urgency") == "Expected"
    assert one(info, "cap:severity") == "Severe"
    assert one(info, "cap:certainty") == "Likely"
    assert one(info, "cap:onset") == "2026-11-27T12:00:00+08:00"
    assert one(info, "cap:expires") == "2026-11-28T12:00:00+08:00"
    assert one(info, "cap:senderName") == "贵州省自然资源厅"
    assert one(info, "cap:headline") == "贵州省自然资源厅发布地质灾害橙色预警"
    assert one(info, "cap:instruction") == "危险区群众立即撤离，远离陡坡和沟谷。"
    assert one(info, "cap:web").startswith("http://127.0.0.1:8000/releases/rel_")
    parameters = {
        one(p, "cap:valueName"): one(p, "cap:value") for p in info.findall("cap:parameter", NS)
    }
    assert parameters == {"colour": "orange", "level": "II"}
    areas = [
        (
            one(a, "cap:areaDesc"),
            one(a, "cap:geocode/cap:valueName"),
            one(a, "cap:geocode/cap:value"),
        )
        for a in info.findall("cap:area", NS)
    ]
    assert areas == [("水城区", "GB/T 2260", "520204"), ("盘州市", "GB/T 2260", "520281")]

    # The publication is announced once, as warning.published.
    events = await _announced(api)
    assert [e.data["id"] for e in events] == [warning["id"]]
    assert "520281" in events[0].division_codes


async def test_an_update_and_a_cancel_reference_what_they_replace(
    api: Api, clock: ManualClock
) -> None:
    office = Office(api, NATURAL_RESOURCES)
    original = await _issue(api, office)
    await _publish(api, office, original)
    first = await _cap(api, original["id"])

    clock.advance(hours=3)
    response = await api.post(
        f"{WARNINGS}/{original['id']}/update",
        await office.as_("drafter"),
        {"colour": "red", "reason": "降雨持续，风险升高", "areas": ["520204", "520281", "520203"]},
    )
    assert response.status_code == 201, response.text
    update = response.json()
    assert update["msg_type"] == "Update"
    assert update["chain_id"] == original["id"]
    assert update["references_id"] == original["id"]
    assert update["identifier"] == "52000000000000_20261127130000_0"
    assert update["headline"] == "贵州省自然资源厅更新地质灾害红色预警"
    assert (update["colour"], update["level"], update["severity"]) == ("red", "I", "Extreme")
    assert update["event"] == "地质灾害"  # carried over
    assert update["status"] == "draft"

    # Until the update is published the original stays in force.
    still = await api.get(f"{WARNINGS}/{original['id']}", await office.as_("drafter"))
    assert still.json()["in_force"] is True

    clock.advance(minutes=10)
    await _publish(api, office, update)
    alert = await _cap(api, update["id"])
    check_cap_1_2(alert)
    assert one(alert, "cap:msgType") == "Update"
    assert one(alert, "cap:references") == (
        f"{SENDER},{one(first, 'cap:identifier')},{one(first, 'cap:sent')}"
    )
    info = alert.find("cap:info", NS)
    assert info is not None
    assert one(info, "cap:severity") == "Extreme"
    assert len(info.findall("cap:area", NS)) == 3
    superseded = await api.get(f"{WARNINGS}/{original['id']}", await office.as_("drafter"))
    assert superseded.json()["status"] == "superseded"
    assert superseded.json()["in_force"] is False

    clock.advance(hours=5)
    response = await api.post(
        f"{WARNINGS}/{update['id']}/cancel", await office.as_("drafter"), {"reason": "降雨结束"}
    )
    assert response.status_code == 201, response.text
    cancel = response.json()
    await _publish(api, office, cancel)
    alert = await _cap(api, cancel["id"])
    check_cap_1_2(alert)
    assert one(alert, "cap:msgType") == "Cancel"
    second = await _cap(api, update["id"])
    assert one(alert, "cap:references") == " ".join(
        f"{SENDER},{one(m, 'cap:identifier')},{one(m, 'cap:sent')}" for m in (first, second)
    )
    info = alert.find("cap:info", NS)
    assert info is not None
    assert one(info, "cap:responseType") == "AllClear"
    assert one(info, "cap:urgency") == "Past"
    # It stays listed until the cancelled warning would have lapsed.
    assert one(info, "cap:expires") == "2026-11-28T12:00:00+08:00"

    view = await api.get(f"{WARNINGS}/{cancel['id']}", await office.as_("drafter"))
    assert view.json()["chain_state"] == "cancelled"
    assert view.json()["references"] == [original["id"], update["id"]]

    # A cancelled warning takes no more updates.
    again = await api.post(
        f"{WARNINGS}/{cancel['id']}/update", await office.as_("drafter"), {"reason": "x"}
    )
    assert_problem(again, 409)


async def test_the_atom_feed_lists_what_is_in_force_for_a_feed_reader(
    api: Api, clock: ManualClock
) -> None:
    office = Office(api, NATURAL_RESOURCES)
    geological = await _issue(api, office)
    await _publish(api, office, geological)
    clock.advance(seconds=1)
    flood = await _issue(
        api,
        office,
        colour="blue",
        event="山洪",
        areas=["520303"],
        expires="2026-11-27T12:00:00Z",
    )
    await _publish(api, office, flood)
    clock.advance(seconds=1)
    await _issue(api, office, event="草稿中的预警")  # a draft is never listed

    response = await api.client.get(FEED)  # no token
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title.startswith("贵州省突发事件预警信息")
    assert [e.title for e in feed.entries] == [
        "贵州省自然资源厅发布山洪蓝色预警",
        "贵州省自然资源厅发布地质灾害橙色预警",
    ]
    entry = feed.entries[1]
    cap_url = f"http://127.0.0.1:8000/api/v1/warnings/{geological['id']}.cap"
    assert entry.id == cap_url
    assert entry.link == cap_url
    assert entry.published == "2026-11-27T02:00:00Z"
    # The link leads to the CAP document itself.
    cap = await api.client.get(cap_url.removeprefix("http://127.0.0.1:8000"))
    assert cap.status_code == 200
    assert one(parse(cap.content), "cap:identifier") == geological["identifier"]

    # A hub for Zunyi (520303 Huichuan is in it) sees only the flood warning.
    zunyi = feedparser.parse((await api.client.get(f"{FEED}?division=520300")).content)
    assert [e.title for e in zunyi.entries] == ["贵州省自然资源厅发布山洪蓝色预警"]

    # Once the flood warning has expired it leaves the feed.
    clock.set(T0 + timedelta(hours=10))
    later = feedparser.parse((await api.client.get(FEED)).content)
    assert [e.title for e in later.entries] == ["贵州省自然资源厅发布地质灾害橙色预警"]

    # A retracted warning leaves the feed and its CAP document is gone.
    drafter = await office.as_("drafter")
    retraction = await api.post(
        f"/api/v1/releases/{geological['release']['id']}/retract",
        drafter,
        {"reason": "误发"},
    )
    assert retraction.status_code == 201, retraction.text
    await office.walk(retraction.json()["id"])
    gone = feedparser.parse((await api.client.get(FEED)).content)
    assert gone.entries == []
    assert_problem(await api.client.get(f"{WARNINGS}/{geological['id']}.cap"), 404)


async def test_a_warning_names_real_divisions_in_its_issuers_jurisdiction(
    api: Api, clock: ManualClock
) -> None:
    panzhou = Office(api, "gov-520281")
    drafter = await panzhou.as_("drafter")
    response = await api.post(WARNINGS, drafter, warning_body(areas=["520281", "520204"]))
    assert_problem(response, 403, "areas[1]")
    response = await api.post(WARNINGS, drafter, warning_body(areas=["529999"]))
    assert_problem(response, 422, "areas[0]")
    province = await api.token("dept-natural_resources", "drafter")
    response = await api.post(WARNINGS, province, warning_body(areas=["52GA00"]))
    assert_problem(response, 422, "areas[0]")
    response = await api.post(
        WARNINGS,
        province,
        warning_body(onset="2026-11-27T04:00:00Z", expires="2026-11-27T03:00:00Z"),
    )
    assert_problem(response, 422, "expires")
    response = await api.post(WARNINGS, province, warning_body(colour="purple"))
    assert_problem(response, 422, "colour")
    response = await api.post(WARNINGS, province, warning_body(urgency="Soon"))
    assert_problem(response, 422, "urgency")
    viewer = await api.token("dept-natural_resources", "viewer")
    assert_problem(await api.post(WARNINGS, viewer, warning_body()), 403)


async def test_warnings_are_read_and_changed_only_within_jurisdiction(api: Api) -> None:
    panzhou = Office(api, "gov-520281")
    warning = await _issue(api, panzhou, areas=["520281"])
    zunyi = await api.token("520300", "drafter", "viewer")
    assert_problem(await api.get(f"{WARNINGS}/{warning['id']}", zunyi), 404)
    assert (await api.get(WARNINGS, zunyi)).json()["items"] == []
    assert_problem(
        await api.post(f"{WARNINGS}/{warning['id']}/cancel", zunyi, {"reason": "x"}), 404
    )
    # The prefecture above sees it, but only the issuer updates it...
    liupanshui = await api.token("520200", "drafter")
    assert (await api.get(f"{WARNINGS}/{warning['id']}", liupanshui)).json()["id"] == warning["id"]
    refused = await api.post(f"{WARNINGS}/{warning['id']}/update", liupanshui, {"reason": "x"})
    assert_problem(refused, 403)
    # ...and not before anything of it is published.
    own = await api.post(
        f"{WARNINGS}/{warning['id']}/update", await panzhou.as_("drafter"), {"reason": "x"}
    )
    assert_problem(own, 409)
    assert_problem(await api.client.get(f"{WARNINGS}/wrn_nonexistent.cap"), 404)


async def test_the_feed_follows_the_latest_message_of_each_warning(
    api: Api, clock: ManualClock
) -> None:
    office = Office(api, NATURAL_RESOURCES)
    drafter = await office.as_("drafter")

    def titles(response_content: bytes) -> list[str]:
        return [e.title for e in feedparser.parse(response_content).entries]

    # An update that shortens the expiry ends the warning sooner than the alert said.
    shortened = await _issue(api, office, expires="2026-11-30T04:00:00Z")
    await _publish(api, office, shortened)
    clock.advance(hours=1)
    response = await api.post(
        f"{WARNINGS}/{shortened['id']}/update",
        drafter,
        {"expires": "2026-11-27T12:00:00Z", "reason": "雨停"},
    )
    await _publish(api, office, response.json())
    # A warning with no expiry stays until it is cancelled; the Cancel is listed for 24 h.
    open_ended = await _issue(api, office, event="山体滑坡", expires=None)
    await _publish(api, office, open_ended)
    clock.advance(hours=1)  # 04:00
    response = await api.post(f"{WARNINGS}/{open_ended['id']}/cancel", drafter, {"reason": "解除"})
    await _publish(api, office, response.json())

    both = [
        "贵州省自然资源厅解除山体滑坡橙色预警",
        "贵州省自然资源厅更新地质灾害橙色预警",
    ]
    assert titles((await api.client.get(FEED)).content) == both
    # The Cancel of a warning with no expiry expires 24 h after it was sent (04:00).
    cancel = await api.get(f"{WARNINGS}/{response.json()['id']}", drafter)
    assert cancel.json()["expires"] == "2026-11-28T04:00:00Z"
    # A message is listed while its expiry is still ahead, to the second.
    clock.set(T0 + timedelta(hours=10, seconds=-1))  # 11:59:59
    assert titles((await api.client.get(FEED)).content) == both
    clock.set(T0 + timedelta(hours=10))  # 12:00:00, the update has lapsed
    assert titles((await api.client.get(FEED)).content) == ["贵州省自然资源厅解除山体滑坡橙色预警"]
    clock.set(T0 + timedelta(hours=26, seconds=-1))
    assert titles((await api.client.get(FEED)).content) == ["贵州省自然资源厅解除山体滑坡橙色预警"]
    clock.set(T0 + timedelta(hours=26))  # 24 h after the Cancel was sent at 04:00
    assert titles((await api.client.get(FEED)).content) == []


async def test_publishing_the_release_itself_publishes_the_warning(api: Api) -> None:
    office = Office(api, NATURAL_RESOURCES)
    warning = await _issue(api, office)
    await office.walk(warning["release"]["id"])  # POST /releases/{id}/publish
    view = await api.get(f"{WARNINGS}/{warning['id']}", await office.as_("viewer"))
    assert view.json()["status"] == "published"
    assert view.json()["sent_at"] == "2026-11-27T02:00:00Z"
    check_cap_1_2(await _cap(api, warning["id"]))
    # Publishing it again through the warning is refused by the work flow, and the
    # publication is announced once.
    again = await api.post(f"{WARNINGS}/{warning['id']}/publish", await office.as_("drafter"))
    assert_problem(again, 409)
    assert [e.data["id"] for e in await _announced(api)] == [warning["id"]]


async def test_the_listing_shows_each_message_as_it_is_shown_alone(
    api: Api, clock: ManualClock
) -> None:
    office = Office(api, NATURAL_RESOURCES)
    drafter = await office.as_("drafter")
    first = await _issue(api, office)
    await _publish(api, office, first)
    clock.advance(hours=1)
    update = (
        await api.post(
            f"{WARNINGS}/{first['id']}/update", drafter, {"colour": "red", "reason": "升级"}
        )
    ).json()
    await _publish(api, office, update)
    clock.advance(hours=1)
    pending = await _issue(api, office, event="山体滑坡")

    listed = (await api.get(WARNINGS, drafter)).json()["items"]
    assert [w["id"] for w in listed] == [pending["id"], update["id"], first["id"]]
    for item in listed:
        assert item == (await api.get(f"{WARNINGS}/{item['id']}", drafter)).json()
    assert [w["status"] for w in listed] == ["draft", "published", "superseded"]

    active = (await api.get(WARNINGS, drafter, params={"state": "active"})).json()["items"]
    assert [w["id"] for w in active] == [update["id"], first["id"]]
    newest = (await api.get(WARNINGS, drafter, params={"limit": 1})).json()["items"]
    assert [w["id"] for w in newest] == [pending["id"]]


async def test_an_organ_enters_at_most_ten_warnings_in_one_second(api: Api) -> None:
    """GB/T 35965.1: the identifier's last digit is the serial within the second, 0-9."""
    office = Office(api, NATURAL_RESOURCES)
    identifiers = [(await _issue(api, office))["identifier"] for _ in range(10)]
    assert identifiers == [f"52000000000000_20261127100000_{n}" for n in range(10)]
    eleventh = await api.post(WARNINGS, await office.as_("drafter"), warning_body())
    assert_problem(eleventh, 409)
    assert eleventh.json()["type"].endswith("identifier-serials-spent")


async def test_a_warning_looks_at_most_a_year_ahead(api: Api) -> None:
    """A warning concerns what is coming: onset and expiry lie within 366 days of now."""
    drafter = await api.token(NATURAL_RESOURCES, "drafter")
    at_horizon = (T0 + timedelta(days=366)).isoformat()
    beyond = (T0 + timedelta(days=366, seconds=1)).isoformat()
    response = await api.post(WARNINGS, drafter, warning_body(onset=at_horizon, expires=None))
    assert response.status_code == 201, response.text
    response = await api.post(WARNINGS, drafter, warning_body(onset=beyond, expires=None))
    assert_problem(response, 422, "onset")
    response = await api.post(WARNINGS, drafter, warning_body(expires=beyond))
    assert_problem(response, 422, "expires")
    # An expiry at or before now is refused too: the warning would be over already.
    response = await api.post(
        WARNINGS,
        drafter,
        warning_body(onset=(T0 - timedelta(hours=1)).isoformat(), expires=T0.isoformat()),
    )
    assert_problem(response, 422, "expires")


async def test_the_identifier_names_the_issuing_organ_by_division_and_sector(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GB/T 35965.1 A.1.2: division code, then the GB/T 4657 sector code ("000" while it is
    unassigned), "000" and "00"; the serial counts within one issuing-unit code."""
    # An illustrative code: once the province confirms one for a department, it goes here.
    monkeypatch.setitem(warnings_wf.SECTOR_CODES, "natural_resources", "123")
    natural_resources = await _issue(api, Office(api, NATURAL_RESOURCES))
    emergency = await _issue(api, Office(api, EMERGENCY), areas=["520281"])
    province_io = await _issue(api, Office(api, "io-520000"), areas=["520281"])
    assert natural_resources["identifier"] == "52000012300000_20261127100000_0"
    # Organs without a confirmed code share the unassigned one and draw the next serial.
    assert emergency["identifier"] == "52000000000000_20261127100000_0"
    assert province_io["identifier"] == "52000000000000_20261127100000_1"
    # A county government issues under its own GB/T 2260 code.
    panzhou = await _issue(api, Office(api, "gov-520281"), areas=["520281"])
    assert panzhou["identifier"] == "52028100000000_20261127100000_0"
    # Gui'an New District has no GB/T 2260 code; its committee issues under the province's.
    guian = await _issue(api, Office(api, "gov-52GA00"), areas=["520111"])
    assert guian["identifier"] == "52000000000000_20261127100000_2"
