"""Art. 24 early warnings exported as CAP 1.2 and listed in an Atom feed."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from xml.etree.ElementTree import Element

import feedparser
import pytest
from defusedxml import ElementTree as SafeET

from app.publishing.cap import (
    CAP_NS,
    WarningView,
    cap_datetime,
    make_identifier,
    to_atom,
    to_cap_xml,
)

NS = {"cap": CAP_NS}
# CAP 1.2 dateTime: numeric offset required, "Z" and fractions not allowed.
CAP_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")

SENT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 20:00 Beijing time
SENDER = "fabu@gov-520000"
ORIGINAL_ID = "52000041600000_20261127200000_0"
FEED_URL = "https://fabu.example.gov.cn/api/v1/feeds/warnings.atom"


def warning(**changes: Any) -> WarningView:
    base = WarningView(
        id="wrn_0001",
        identifier=ORIGINAL_ID,
        sender=SENDER,
        sent=SENT,
        msg_type="Alert",
        colour="orange",
        event="地质灾害",
        headline="六盘水市地质灾害橙色预警",
        description="受持续强降雨影响，水城区、盘州市发生崩塌、滑坡的风险高。",
        instruction="危险区群众立即撤离，远离陡坡和沟谷。",
        category="Geo",
        urgency="Expected",
        certainty="Likely",
        areas=[("520221", "水城区"), ("520281", "盘州市")],
        onset=SENT,
        expires=SENT + timedelta(hours=24),
        sender_name="贵州省自然资源厅",
        response_types=("Evacuate",),
        web="https://www.guizhou.gov.cn/yj/wrn_0001.html",
    )
    return dataclasses.replace(base, **changes)


def parse(xml: bytes) -> Element:
    root: Element = SafeET.fromstring(xml)
    return root


def text(node: Element, path: str) -> str:
    found = node.find(path, NS)
    assert found is not None, path
    assert found.text, path
    return found.text


# ---------------------------------------------------------------- identifier


def test_identifier_follows_gb_t_35965_1() -> None:
    identifier = make_identifier("520000", "416", SENT, 0)
    assert identifier == "52000041600000_20261127200000_0"
    assert len(identifier) == 31


def test_identifier_takes_a_full_eight_digit_organ_code_and_beijing_time() -> None:
    beijing = timezone(timedelta(hours=8))
    sent = datetime(2026, 1, 1, 7, 59, 59, tzinfo=beijing)
    assert make_identifier("520281", "41600101", sent, 9) == "52028141600101_20260101075959_9"
    # The same instant given in UTC is entered as the same Beijing time.
    assert make_identifier("520281", "416", sent.astimezone(UTC), 3).endswith("_20260101075959_3")


@pytest.mark.parametrize(
    ("division", "org", "sent", "serial"),
    [
        ("52", "416", SENT, 0),
        ("520000000000", "416", SENT, 0),
        ("520000", "41", SENT, 0),
        ("520000", "4160", SENT, 0),
        ("520000", "416", SENT, 10),
        ("520000", "416", SENT, -1),
        ("520000", "416", datetime(2026, 11, 27, 20, 0), 0),
    ],
)
def test_identifier_parts_out_of_form_are_refused(
    division: str, org: str, sent: datetime, serial: int
) -> None:
    with pytest.raises(ValueError):
        make_identifier(division, org, sent, serial)


# ---------------------------------------------------------------- CAP alert


def test_cap_alert_has_every_required_element_with_allowed_values() -> None:
    xml = to_cap_xml(warning())
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    alert = parse(xml)
    assert alert.tag == f"{{{CAP_NS}}}alert"

    assert text(alert, "cap:identifier") == ORIGINAL_ID
    assert text(alert, "cap:sender") == SENDER
    assert text(alert, "cap:sent") == "2026-11-27T20:00:00+08:00"
    assert text(alert, "cap:status") == "Actual"
    assert text(alert, "cap:msgType") == "Alert"
    assert text(alert, "cap:scope") == "Public"
    assert alert.find("cap:references", NS) is None

    infos = alert.findall("cap:info", NS)
    assert len(infos) == 1
    info = infos[0]
    assert text(info, "cap:category") == "Geo"
    assert text(info, "cap:event") == "地质灾害"
    assert text(info, "cap:urgency") == "Expected"
    assert text(info, "cap:severity") == "Severe"
    assert text(info, "cap:certainty") == "Likely"
    assert text(info, "cap:responseType") == "Evacuate"

    areas = info.findall("cap:area", NS)
    assert [text(a, "cap:areaDesc") for a in areas] == ["水城区", "盘州市"]
    for area, code in zip(areas, ["520221", "520281"], strict=True):
        assert text(area, "cap:geocode/cap:valueName") == "GB/T 2260"
        assert text(area, "cap:geocode/cap:value") == code


def test_cap_alert_carries_the_art_24_content() -> None:
    info = parse(to_cap_xml(warning())).find("cap:info", NS)
    assert info is not None
    assert text(info, "cap:language") == "zh-CN"
    assert text(info, "cap:headline") == "六盘水市地质灾害橙色预警"
    assert text(info, "cap:instruction") == "危险区群众立即撤离，远离陡坡和沟谷。"
    assert text(info, "cap:onset") == "2026-11-27T20:00:00+08:00"
    assert text(info, "cap:expires") == "2026-11-28T20:00:00+08:00"
    assert text(info, "cap:senderName") == "贵州省自然资源厅"
    assert text(info, "cap:web") == "https://www.guizhou.gov.cn/yj/wrn_0001.html"
    parameters = {
        text(p, "cap:valueName"): text(p, "cap:value") for p in info.findall("cap:parameter", NS)
    }
    assert parameters == {"colour": "orange", "level": "II"}


def test_cap_elements_come_in_schema_order() -> None:
    alert = parse(to_cap_xml(warning(msg_type="Update", references=[(SENDER, ORIGINAL_ID, SENT)])))
    assert [child.tag.split("}")[1] for child in alert] == [
        "identifier",
        "sender",
        "sent",
        "status",
        "msgType",
        "scope",
        "references",
        "info",
    ]
    info = alert.find("cap:info", NS)
    assert info is not None
    assert [child.tag.split("}")[1] for child in info] == [
        "language",
        "category",
        "event",
        "responseType",
        "urgency",
        "severity",
        "certainty",
        "onset",
        "expires",
        "senderName",
        "headline",
        "description",
        "instruction",
        "web",
        "parameter",
        "parameter",
        "area",
        "area",
    ]


@pytest.mark.parametrize(
    ("colour", "severity", "level"),
    [
        ("red", "Extreme", "I"),
        ("orange", "Severe", "II"),
        ("yellow", "Moderate", "III"),
        ("blue", "Minor", "IV"),
    ],
)
def test_colour_decides_cap_severity_and_level(colour: str, severity: str, level: str) -> None:
    """Emergency Response Law: red = I, orange = II, yellow = III, blue = IV."""
    info = parse(to_cap_xml(warning(colour=colour))).find("cap:info", NS)
    assert info is not None
    assert text(info, "cap:severity") == severity
    parameters = {
        text(p, "cap:valueName"): text(p, "cap:value") for p in info.findall("cap:parameter", NS)
    }
    assert parameters == {"colour": colour, "level": level}


def test_every_cap_time_has_a_numeric_offset_and_whole_seconds() -> None:
    odd = datetime(2026, 11, 27, 12, 0, 0, 987654, tzinfo=UTC)
    alert = parse(
        to_cap_xml(warning(sent=odd, msg_type="Update", references=[(SENDER, ORIGINAL_ID, SENT)]))
    )
    times = [text(alert, "cap:sent")]
    times += [text(alert, f"cap:info/cap:{tag}") for tag in ("onset", "expires")]
    for value in times:
        assert CAP_DATETIME.match(value), value
        assert not value.endswith("Z")
    assert times[0] == "2026-11-27T20:00:00+08:00"
    assert cap_datetime(datetime(2026, 6, 30, 16, 30, tzinfo=UTC)) == "2026-07-01T00:30:00+08:00"


def test_an_update_references_the_original_message() -> None:
    update = warning(
        identifier="52000041600000_20261127230000_0",
        sent=SENT + timedelta(hours=3),
        msg_type="Update",
        colour="red",
        references=[(SENDER, ORIGINAL_ID, SENT)],
    )
    alert = parse(to_cap_xml(update))
    assert text(alert, "cap:msgType") == "Update"
    assert text(alert, "cap:references") == (
        "fabu@gov-520000,52000041600000_20261127200000_0,2026-11-27T20:00:00+08:00"
    )
    assert text(alert, "cap:info/cap:severity") == "Extreme"


def test_a_cancel_references_every_earlier_message_space_separated() -> None:
    cancel = warning(
        identifier="52000041600000_20261128080000_0",
        sent=SENT + timedelta(hours=12),
        msg_type="Cancel",
        references=[
            (SENDER, ORIGINAL_ID, SENT),
            (SENDER, "52000041600000_20261127230000_0", SENT + timedelta(hours=3)),
        ],
    )
    references = text(parse(to_cap_xml(cancel)), "cap:references").split(" ")
    assert references == [
        "fabu@gov-520000,52000041600000_20261127200000_0,2026-11-27T20:00:00+08:00",
        "fabu@gov-520000,52000041600000_20261127230000_0,2026-11-27T23:00:00+08:00",
    ]
    for reference in references:
        sender, identifier, sent = reference.split(",")
        assert sender == SENDER
        assert len(identifier) == 31
        assert CAP_DATETIME.match(sent)


def test_text_with_markup_characters_survives_the_round_trip() -> None:
    description = '水位 <警戒线> & 上涨 "持续"'
    alert = parse(to_cap_xml(warning(description=description)))
    assert text(alert, "cap:info/cap:description") == description


def test_optional_texts_left_empty_are_left_out() -> None:
    info = parse(
        to_cap_xml(warning(headline="", instruction="", web=None, onset=None, expires=None))
    ).find("cap:info", NS)
    assert info is not None
    for tag in ("headline", "instruction", "web", "onset", "expires"):
        assert info.find(f"cap:{tag}", NS) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"sent": datetime(2026, 11, 27, 20, 0)},
        {"expires": datetime(2026, 11, 28, 20, 0)},
        {"status": "Real"},
        {"msg_type": "Ack"},
        {"colour": "green"},
        {"category": "Weather"},
        {"urgency": "Soon"},
        {"certainty": "Sure"},
        {"response_types": ("Run",)},
        {"identifier": "has space"},
        {"identifier": "has,comma"},
        {"sender": "a&b"},
        {"sender": ""},
        {"event": " "},
        {"areas": []},
        {"areas": [("5202", "水城区")]},
        {"areas": [("520221", "")]},
        {"msg_type": "Update"},  # without references
        {"msg_type": "Cancel", "references": [(SENDER, "x y", SENT)]},
    ],
)
def test_warnings_outside_cap_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        warning(**changes)


def test_lists_given_by_the_caller_are_frozen() -> None:
    view = warning(areas=[("520221", "水城区")], references=[(SENDER, ORIGINAL_ID, SENT)])
    assert view.areas == (("520221", "水城区"),)
    assert view.references == ((SENDER, ORIGINAL_ID, SENT),)
    assert view.severity == "Severe"
    assert view.level == "II"


# ---------------------------------------------------------------- Atom


def feed_of(entries: list[WarningView], updated: datetime) -> Any:
    xml = to_atom(entries, feed_id="urn:fabu:warnings", feed_url=FEED_URL, updated=updated)
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_atom_feed_lists_active_warnings_newest_first_each_linking_to_its_cap() -> None:
    rain = warning(
        id="wrn_0002",
        identifier="52010041600000_20261127210000_0",
        sent=SENT + timedelta(hours=1),
        colour="blue",
        event="暴雨",
        headline="贵阳市暴雨蓝色预警",
        category="Met",
        areas=[("520100", "贵阳市")],
    )
    now = SENT + timedelta(hours=2)
    parsed = feed_of([warning(), rain], now)

    assert parsed.feed.id == "urn:fabu:warnings"
    assert parsed.feed.updated == "2026-11-27T14:00:00Z"
    assert [link.href for link in parsed.feed.links if link.rel == "self"] == [FEED_URL]

    assert [e.title for e in parsed.entries] == ["贵阳市暴雨蓝色预警", "六盘水市地质灾害橙色预警"]
    first, second = parsed.entries
    assert first.id == "https://fabu.example.gov.cn/api/v1/warnings/wrn_0002.cap"
    assert [(link.rel, link.type, link.href) for link in second.links] == [
        (
            "alternate",
            "application/cap+xml",
            "https://fabu.example.gov.cn/api/v1/warnings/wrn_0001.cap",
        ),
        ("related", "text/html", "https://www.guizhou.gov.cn/yj/wrn_0001.html"),
    ]
    assert second.updated == "2026-11-27T12:00:00Z"
    assert second.author == "贵州省自然资源厅"
    assert second.tags[0].term == "orange"
    assert second.summary == "受持续强降雨影响，水城区、盘州市发生崩塌、滑坡的风险高。"
    assert second.cap_identifier == ORIGINAL_ID
    assert second.cap_severity == "Severe"
    assert second.cap_areadesc == "水城区；盘州市"
    assert second.cap_expires == "2026-11-28T20:00:00+08:00"


def test_expired_warnings_leave_the_feed_but_a_cancel_stays_until_it_expires() -> None:
    expired = warning(id="wrn_old", expires=SENT - timedelta(minutes=1))
    cancel = warning(
        id="wrn_0003",
        identifier="52000041600000_20261127220000_0",
        sent=SENT + timedelta(hours=2),
        msg_type="Cancel",
        references=[(SENDER, ORIGINAL_ID, SENT)],
    )
    parsed = feed_of([expired, cancel], SENT + timedelta(hours=3))
    assert [e.id for e in parsed.entries] == [
        "https://fabu.example.gov.cn/api/v1/warnings/wrn_0003.cap"
    ]
    assert parsed.entries[0].cap_msgtype == "Cancel"


def test_an_empty_feed_is_still_a_valid_feed() -> None:
    parsed = feed_of([], SENT)
    assert parsed.entries == []
    assert parsed.feed.title == "贵州省突发事件预警信息 Guizhou emergency early warnings"


def test_the_cap_link_can_be_chosen_by_the_caller() -> None:
    xml = to_atom(
        [warning()],
        feed_id="urn:fabu:warnings",
        feed_url=FEED_URL,
        updated=SENT,
        cap_url=lambda w: f"https://cdn.example/cap/{w.identifier}.xml",
    )
    entry = feedparser.parse(xml).entries[0]
    assert entry.link == f"https://cdn.example/cap/{ORIGINAL_ID}.xml"
