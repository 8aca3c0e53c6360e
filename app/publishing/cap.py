"""Early warnings (Art. 24) as OASIS CAP 1.2 XML and an Atom 1.0 feed.

CAP 1.2 is what alerting hubs read; the identifier follows GB/T 35965.1-2018
(应急信息交互协议 第1部分：预警信息), Annex A, so national platforms can
match our messages to theirs.

Decisions, each also said where it is applied:
- All CAP times are Beijing time with a numeric offset ("+08:00"): CAP 1.2
  forbids "Z", and GB/T 35965.1 fixes the offset of Chinese messages at
  08:00. Seconds only (the CAP dateTime pattern has no fractions).
- CAP severity comes from the warning colour alone (never given separately,
  so the two cannot disagree): red Extreme, orange Severe, yellow Moderate,
  blue Minor. The Emergency Response Law ranks the colours red = level I down
  to blue = level IV; the colour and that level also go out as parameters.
- Each (division code, description) area is one <area> with a geocode whose
  valueName is "GB/T 2260".
- XML is built without touching ElementTree's global namespace registry:
  namespaces are written as plain xmlns attributes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final, Literal, get_args
from urllib.parse import quote, urljoin

__all__ = [
    "ATOM_NS",
    "CAP_CATEGORIES",
    "CAP_CERTAINTIES",
    "CAP_MSG_TYPES",
    "CAP_NS",
    "CAP_RESPONSE_TYPES",
    "CAP_SCOPES",
    "CAP_SEVERITIES",
    "CAP_STATUSES",
    "CAP_URGENCIES",
    "COLOUR_LEVEL",
    "COLOUR_SEVERITY",
    "COLOUR_ZH",
    "CapCategory",
    "CapCertainty",
    "CapResponseType",
    "CapUrgency",
    "Colour",
    "Reference",
    "WarningView",
    "cap_datetime",
    "default_cap_url",
    "make_identifier",
    "to_atom",
    "to_cap_xml",
]

CAP_NS: Final = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS: Final = "http://www.w3.org/2005/Atom"

# CAP 1.2 enumerations (OASIS CAP 1.2, §3.2). The request shapes take the Literals, the
# XML checks the tuples: one list each.
CAP_STATUSES: Final = ("Actual", "Exercise", "System", "Test", "Draft")
CAP_MSG_TYPES: Final = ("Alert", "Update", "Cancel", "Ack", "Error")
CAP_SCOPES: Final = ("Public", "Restricted", "Private")
CapCategory = Literal[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
]
CapResponseType = Literal[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"
]
CapUrgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
CapCertainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
CAP_CATEGORIES: Final[tuple[str, ...]] = get_args(CapCategory)
CAP_RESPONSE_TYPES: Final[tuple[str, ...]] = get_args(CapResponseType)
CAP_URGENCIES: Final[tuple[str, ...]] = get_args(CapUrgency)
CAP_SEVERITIES: Final = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CAP_CERTAINTIES: Final[tuple[str, ...]] = get_args(CapCertainty)

Colour = Literal["red", "orange", "yellow", "blue"]

# Art. 24 warning colours to CAP severity; red is the gravest.
COLOUR_SEVERITY: Final[dict[str, str]] = {
    "red": "Extreme",
    "orange": "Severe",
    "yellow": "Moderate",
    "blue": "Minor",
}
# Emergency Response Law: red = I, orange = II, yellow = III, blue = IV.
COLOUR_LEVEL: Final[dict[str, str]] = {"red": "I", "orange": "II", "yellow": "III", "blue": "IV"}
COLOUR_ZH: Final[dict[str, str]] = {
    "red": "红色",
    "orange": "橙色",
    "yellow": "黄色",
    "blue": "蓝色",
}

# China has kept UTC+8 without daylight saving since 1991: a fixed offset is
# exact and needs no tz database.
_BEIJING: Final = timezone(timedelta(hours=8))

# CAP: identifier and sender "MUST NOT include spaces, commas or restricted
# characters (< and &)".
_CAP_TOKEN: Final = re.compile(r"^[^\s,<&]+$")
_DIVISION_CODE: Final = re.compile(r"^[0-9]{6}$")

Reference = tuple[str, str, datetime]  # (sender, identifier, sent)


def cap_datetime(dt: datetime) -> str:
    """`dt` in CAP 1.2 form: Beijing time, whole seconds, "+08:00"."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("CAP times must be timezone-aware")
    return dt.astimezone(_BEIJING).replace(microsecond=0).isoformat()


def make_identifier(division_code: str, org_code: str, sent: datetime, serial: int) -> str:
    """A GB/T 35965.1-2018 (Annex A.1.1) message identifier.

    Form ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N, 31 characters:
    - ZZZZZZ the 6-digit GB/T 2260 division code of the issuing organ;
    - DDD its 3-digit sector code (GB/T 4657), then UUU the organ's internal
      second-level code and XX an extension code, defaulting to "000" and
      "00": `org_code` is either DDD (defaults added) or all eight digits;
    - the time the message was entered, Beijing time, 14 digits;
    - N the serial of messages of that organ in that same second, 0-9.
    """
    if not _DIVISION_CODE.match(division_code):
        raise ValueError(f"division code must be 6 digits (GB/T 2260): {division_code!r}")
    if re.fullmatch(r"[0-9]{3}", org_code):
        org_code += "000" + "00"
    elif not re.fullmatch(r"[0-9]{8}", org_code):
        raise ValueError(f"organ code must be 3 or 8 digits (GB/T 4657 + 000 + 00): {org_code!r}")
    if not 0 <= serial <= 9:
        raise ValueError(f"serial must be 0-9 within one second: {serial}")
    if sent.tzinfo is None or sent.utcoffset() is None:
        raise ValueError("sent must be timezone-aware")
    return f"{division_code}{org_code}_{sent.astimezone(_BEIJING):%Y%m%d%H%M%S}_{serial}"


def _check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True, slots=True)
class WarningView:
    """One published early warning (Art. 24: colour, start, area, what to do)."""

    id: str
    identifier: str  # make_identifier(...)
    sender: str  # e.g. "fabu@gov-520000"
    sent: datetime
    msg_type: Literal["Alert", "Update", "Cancel"]
    colour: Colour
    event: str
    headline: str
    description: str
    instruction: str
    category: str  # one of CAP_CATEGORIES
    urgency: str  # one of CAP_URGENCIES
    certainty: str  # one of CAP_CERTAINTIES
    areas: Sequence[tuple[str, str]]  # (GB/T 2260 division code, description)
    onset: datetime | None = None
    expires: datetime | None = None
    references: Sequence[Reference] = ()  # earlier messages this updates or cancels
    status: str = "Actual"
    scope: Literal["Public"] = "Public"
    sender_name: str = ""  # the issuing organ's name, for people
    language: str = "zh-CN"
    response_types: Sequence[str] = ()
    web: str | None = None  # the warning's page on the website

    def __post_init__(self) -> None:
        # Lists from callers are frozen into tuples: the view stays immutable.
        object.__setattr__(self, "areas", tuple(tuple(a) for a in self.areas))
        object.__setattr__(self, "references", tuple(tuple(r) for r in self.references))
        object.__setattr__(self, "response_types", tuple(self.response_types))
        for name in ("identifier", "sender"):
            if not _CAP_TOKEN.match(getattr(self, name)):
                raise ValueError(f"{name} may not be empty or contain spaces, commas, < or &")
        for dt in (self.sent, self.onset, self.expires):
            if dt is not None and (dt.tzinfo is None or dt.utcoffset() is None):
                raise ValueError("warning times must be timezone-aware")
        _check(self.status, CAP_STATUSES, "status")
        _check(self.msg_type, ("Alert", "Update", "Cancel"), "msgType")
        _check(self.scope, CAP_SCOPES[:1], "scope")
        _check(self.colour, tuple(COLOUR_SEVERITY), "colour")
        _check(self.category, CAP_CATEGORIES, "category")
        _check(self.urgency, CAP_URGENCIES, "urgency")
        _check(self.certainty, CAP_CERTAINTIES, "certainty")
        for response in self.response_types:
            _check(response, CAP_RESPONSE_TYPES, "responseType")
        if not self.event.strip():
            raise ValueError("event is required")
        # Art. 24: a warning states the area it covers.
        if not self.areas:
            raise ValueError("a warning needs at least one area")
        for code, desc in self.areas:
            if not re.fullmatch(r"[0-9]{6}(?:[0-9]{3}){0,2}", code):
                raise ValueError(f"area code must be a GB/T 2260 division code: {code!r}")
            if not desc.strip():
                raise ValueError(f"area {code} needs a description")
        if self.msg_type in ("Update", "Cancel") and not self.references:
            raise ValueError(f"an {self.msg_type} must reference the message(s) it replaces")
        for ref_sender, ref_identifier, ref_sent in self.references:
            if not (_CAP_TOKEN.match(ref_sender) and _CAP_TOKEN.match(ref_identifier)):
                raise ValueError("referenced sender/identifier contain spaces, commas, < or &")
            cap_datetime(ref_sent)  # aware, or ValueError

    @property
    def severity(self) -> str:
        """CAP severity, from the colour (COLOUR_SEVERITY)."""
        return COLOUR_SEVERITY[self.colour]

    @property
    def level(self) -> str:
        """The level I-IV the colour stands for."""
        return COLOUR_LEVEL[self.colour]


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _references(refs: Sequence[Reference]) -> str:
    # CAP: "sender,identifier,sent" of each earlier message, space-separated.
    return " ".join(f"{s},{i},{cap_datetime(t)}" for s, i, t in refs)


def _cap_alert(w: WarningView) -> ET.Element:
    # Children in the order of the CAP 1.2 schema (xs:sequence).
    alert = ET.Element("alert", {"xmlns": CAP_NS})
    _sub(alert, "identifier", w.identifier)
    _sub(alert, "sender", w.sender)
    _sub(alert, "sent", cap_datetime(w.sent))
    _sub(alert, "status", w.status)
    _sub(alert, "msgType", w.msg_type)
    _sub(alert, "scope", w.scope)
    if w.references:
        _sub(alert, "references", _references(w.references))

    info = _sub(alert, "info")
    _sub(info, "language", w.language)
    _sub(info, "category", w.category)
    _sub(info, "event", w.event)
    for response in w.response_types:
        _sub(info, "responseType", response)
    _sub(info, "urgency", w.urgency)
    _sub(info, "severity", w.severity)
    _sub(info, "certainty", w.certainty)
    if w.onset is not None:
        _sub(info, "onset", cap_datetime(w.onset))
    if w.expires is not None:
        _sub(info, "expires", cap_datetime(w.expires))
    if w.sender_name:
        _sub(info, "senderName", w.sender_name)
    for tag, text in (
        ("headline", w.headline),
        ("description", w.description),
        ("instruction", w.instruction),
        ("web", w.web),
    ):
        if text:
            _sub(info, tag, text)
    for name, value in (("colour", w.colour), ("level", w.level)):
        parameter = _sub(info, "parameter")
        _sub(parameter, "valueName", name)
        _sub(parameter, "value", value)
    for code, desc in w.areas:
        area = _sub(info, "area")
        _sub(area, "areaDesc", desc)
        geocode = _sub(area, "geocode")
        _sub(geocode, "valueName", "GB/T 2260")
        _sub(geocode, "value", code)
    return alert


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def to_cap_xml(w: WarningView) -> bytes:
    """The warning as a CAP 1.2 <alert>, UTF-8 with an XML declaration."""
    return _serialise(_cap_alert(w))


def default_cap_url(feed_url: str, w: WarningView) -> str:
    """API.md layout: the feed at …/feeds/warnings.atom, CAP at …/warnings/{id}.cap."""
    return urljoin(feed_url, f"../warnings/{quote(w.id, safe='')}.cap")


def _atom_time(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _title(w: WarningView) -> str:
    return w.headline or f"{w.event}{COLOUR_ZH[w.colour]}预警"


def to_atom(
    entries: Sequence[WarningView],
    *,
    feed_id: str,
    feed_url: str,
    updated: datetime,
    title: str = "贵州省突发事件预警信息 Guizhou emergency early warnings",
    author: str = "Fabu",
    cap_url: Callable[[WarningView], str] | None = None,
) -> bytes:
    """An Atom 1.0 feed of the warnings in force at `updated`.

    Warnings that expired by `updated` are left out; a Cancel stays listed
    until it expires, so a hub that polls learns of the cancellation. Each
    entry's id and alternate link are its CAP document (`cap_url`, by default
    `default_cap_url`), so an Update, a message of its own, is a new entry.
    CAP essentials ride along in the cap: namespace, as hubs reading alert
    feeds expect.
    """
    if updated.tzinfo is None or updated.utcoffset() is None:
        raise ValueError("updated must be timezone-aware")
    cap_href = cap_url or (lambda w: default_cap_url(feed_url, w))
    live = [w for w in entries if w.expires is None or w.expires > updated]
    live.sort(key=lambda w: w.sent, reverse=True)

    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xmlns:cap": CAP_NS, "xml:lang": "zh-CN"})
    _sub(feed, "id", feed_id)
    _sub(feed, "title", title)
    _sub(feed, "updated", _atom_time(updated))
    _sub(feed, "link", None).attrib.update(
        {"rel": "self", "type": "application/atom+xml", "href": feed_url}
    )
    _sub(_sub(feed, "author"), "name", author)
    _sub(feed, "generator", "Fabu")

    for w in live:
        href = cap_href(w)
        entry = _sub(feed, "entry")
        _sub(entry, "id", href)
        _sub(entry, "title", _title(w))
        _sub(entry, "updated", _atom_time(w.sent))
        _sub(entry, "published", _atom_time(w.sent))
        _sub(_sub(entry, "author"), "name", w.sender_name or w.sender)
        _sub(entry, "link", None).attrib.update(
            {"rel": "alternate", "type": "application/cap+xml", "href": href}
        )
        if w.web:
            _sub(entry, "link", None).attrib.update(
                {"rel": "related", "type": "text/html", "href": w.web}
            )
        _sub(entry, "category", None).attrib.update(
            {"term": w.colour, "label": f"{COLOUR_ZH[w.colour]}预警 ({w.level})"}
        )
        _sub(entry, "summary", w.description or w.headline or w.event)
        for tag, text in (
            ("identifier", w.identifier),
            ("msgType", w.msg_type),
            ("event", w.event),
            ("urgency", w.urgency),
            ("severity", w.severity),
            ("certainty", w.certainty),
            ("onset", cap_datetime(w.onset) if w.onset else None),
            ("expires", cap_datetime(w.expires) if w.expires else None),
            ("areaDesc", "；".join(desc for _, desc in w.areas)),
        ):
            if text:
                _sub(entry, f"cap:{tag}", text)
    return _serialise(feed)
