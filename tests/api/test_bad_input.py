"""Bad input is refused as problem+json naming the field; nothing stored changes, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from app.clock import iso
from tests.api.helpers import (
    GUIZHOU,
    INCIDENTS,
    PANZHOU,
    TONGZI,
    assert_problem,
    create,
    incident_body,
    stored_counts,
)
from tests.conftest import T0, Api

MiB = 1024 * 1024


def _body(**overrides: Any) -> bytes:
    return json.dumps(incident_body(**overrides)).encode()


JSON = {"Content-Type": "application/json"}

# (case, raw body, content headers, status, field)
BAD_CREATES: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("malformed JSON", b'{"category": "accident", "title": ', JSON, 400, "body"),
    ("JSON that is not an object", b"[1, 2, 3]", JSON, 422, "body"),
    ("bytes that are not UTF-8", b'{"title": "\xff\xfe"}', JSON, 400, "body"),
    ("a body that is not JSON at all", b"category=accident", {}, 422, "body"),
    ("no body", b"", JSON, 422, "body"),
    ("a figure given as words", _body(figures={"deaths": "three"}), JSON, 422, "figures.deaths"),
    ("a figure given as a fraction", _body(figures={"deaths": 1.5}), JSON, 422, "figures.deaths"),
    ("a title given as a number", _body(title=123), JSON, 422, "title"),
    ("one division code as a string", _body(division_codes=PANZHOU), JSON, 422, "division_codes"),
    ("no division", _body(division_codes=[]), JSON, 422, "division_codes"),
    ("a missing title", _body(title=None), JSON, 422, "title"),
    ("an unknown field", _body(severity="high"), JSON, 422, "severity"),
    ("an unknown division code", _body(division_codes=["529999"]), JSON, 422, "division_codes[0]"),
    (
        "an unknown second division code",
        _body(division_codes=[PANZHOU, "52028"]),
        JSON,
        422,
        "division_codes[1]",
    ),
    (
        "a division outside the reporter's jurisdiction",
        _body(division_codes=[TONGZI]),
        JSON,
        403,
        "division_codes[0]",
    ),
    (
        "occurred five minutes and a second from now",
        _body(occurred_at=iso(T0 + timedelta(minutes=5, seconds=1))),
        JSON,
        422,
        "occurred_at",
    ),
    (
        "reported before it occurred",
        _body(reported_at=iso(T0 - timedelta(hours=2))),
        JSON,
        422,
        "reported_at",
    ),
    (
        "reported far in the future",
        _body(reported_at=iso(T0 + timedelta(hours=1))),
        JSON,
        422,
        "reported_at",
    ),
    ("a naive occurred_at", _body(occurred_at="2026-11-27T01:00:00"), JSON, 422, "occurred_at"),
    ("a naive reported_at", _body(reported_at="2026-11-27T01:30:00"), JSON, 422, "reported_at"),
    ("a date that is not one", _body(occurred_at="yesterday"), JSON, 422, "occurred_at"),
    ("a negative figure", _body(figures={"deaths": -1}), JSON, 422, "figures.deaths"),
    ("an unknown figure", _body(figures={"dead": 3}), JSON, 422, "figures.dead"),
    ("an unknown category", _body(category="war"), JSON, 422, "category"),
    ("an unknown subtype", _body(subtype="volcano"), JSON, 422, "subtype"),
    (
        "a subtype of another category",
        _body(category="accident", subtype="geological"),
        JSON,
        422,
        "subtype",
    ),
    (
        "an unknown level",
        _body(asserted_level="V", asserted_basis="x"),
        JSON,
        422,
        "asserted_level",
    ),
    ("a level asserted without basis", _body(asserted_level="II"), JSON, 422, "asserted_basis"),
    ("a basis without a level", _body(asserted_basis="严重"), JSON, 422, "asserted_level"),
    ("an unknown criterion", _body(criteria=["many_dead"]), JSON, 422, "criteria"),
    (
        "a latitude off the globe",
        _body(location={"lat": 91, "lon": 104.5}),
        JSON,
        422,
        "location.lat",
    ),
    ("an unknown public opinion", _body(public_opinion="viral"), JSON, 422, "public_opinion"),
    (
        "a body over 1 MiB",
        _body(description="x" * MiB),
        JSON,
        413,
        "body",
    ),
]


@pytest.mark.parametrize(
    ("content", "headers", "status", "field"),
    [pytest.param(c, h, s, f, id=case) for case, c, h, s, f in BAD_CREATES],
)
async def test_a_bad_report_is_refused_naming_the_field_and_nothing_is_stored(
    api: Api, content: bytes, headers: dict[str, str], status: int, field: str
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    before = await stored_counts(api.db)
    response = await api.client.post(
        INCIDENTS, content=content, headers={**reporter, **headers, "Idempotency-Key": "k1"}
    )
    assert_problem(response, status, field)
    assert await stored_counts(api.db) == before
    # The key was not spent on the refused body.
    retry = await api.post(INCIDENTS, {**reporter, "Idempotency-Key": "k1"}, json=incident_body())
    assert retry.status_code == 201


async def test_times_exactly_five_minutes_from_now_are_accepted(api: Api) -> None:
    # A clock a few minutes fast is tolerated: exactly the tolerance is still fine.
    reporter = await api.token(PANZHOU, "reporter")
    at = iso(T0 + timedelta(minutes=5))
    incident = await create(api, reporter, occurred_at=at, reported_at=at)
    assert incident["occurred_at"] == "2026-11-27T02:05:00Z"
    # A situation report has the same tolerance.
    report = await api.post(
        f"{INCIDENTS}/{incident['id']}/reports", reporter, json={"reported_at": at}
    )
    assert report.status_code == 200, report.text


async def test_a_body_over_1_mib_sent_in_chunks_without_a_length_is_refused(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    before = await stored_counts(api.db)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"category": "accident", "description": "'
        for _ in range(20):
            yield b"x" * 64 * 1024
        yield b'"}'

    response = await api.client.post(
        INCIDENTS, content=chunks(), headers={**reporter, "Content-Type": "application/json"}
    )
    assert_problem(response, 413, "body")
    assert await stored_counts(api.db) == before


async def test_a_body_of_just_under_1_mib_is_read(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    body = incident_body(description="")
    room = MiB - len(json.dumps(body).encode())
    body["description"] = "x" * min(room, 20000)  # the description's own limit applies first
    response = await api.post(INCIDENTS, reporter, json=body)
    assert response.status_code == 201


# (case, query, field)
BAD_FILTERS = [
    ("an unknown status", "status=open", "status"),
    ("an unknown level", "level=V", "level"),
    ("an unknown category", "category=war", "category"),
    ("an unknown division", "division=529999", "division"),
    ("a naive since", "since=2026-11-27T01:00:00", "since"),
    ("a since that is no time", "since=yesterday", "since"),
    ("a limit of zero", "limit=0", "limit"),
    ("a limit in words", "limit=ten", "limit"),
    ("a limit too large", "limit=100000", "limit"),
]


@pytest.mark.parametrize(
    ("query", "field"), [pytest.param(q, f, id=case) for case, q, f in BAD_FILTERS]
)
async def test_a_list_filter_the_service_does_not_know_is_refused(
    api: Api, query: str, field: str
) -> None:
    viewer = await api.token(GUIZHOU, "viewer")
    assert_problem(await api.get(f"{INCIDENTS}?{query}", viewer), 422, field)


async def test_bad_situation_reports_change_nothing(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter)
    url = f"{INCIDENTS}/{incident['id']}/reports"
    before = await stored_counts(api.db)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"figures": {"deaths": -3}}, "figures.deaths"),
        ({"figures": {"dead": 3}}, "figures.dead"),
        ({"reported_at": iso(T0 + timedelta(minutes=5, seconds=1))}, "reported_at"),
        ({"reported_at": iso(T0 + timedelta(minutes=6))}, "reported_at"),
        ({"reported_at": iso(T0 - timedelta(hours=2))}, "reported_at"),
        ({"reported_at": "2026-11-27T02:00:00"}, "reported_at"),
        ({"public_opinion": "viral"}, "public_opinion"),
        ({"asserted_level": "I"}, "asserted_basis"),
        ({"criteria": ["many_dead"]}, "criteria"),
        ({"note": 5}, "note"),
    ]
    for body, field in cases:
        assert_problem(await api.post(url, reporter, json=body), 422, field)
    malformed = await api.client.post(url, content=b"{", headers={**reporter, **JSON})
    assert_problem(malformed, 400, "body")
    assert await stored_counts(api.db) == before


async def test_bad_decisions_change_nothing(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter", "approver", "info_office")
    incident = await create(api, reporter)
    url = f"{INCIDENTS}/{incident['id']}"
    before = await stored_counts(api.db)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("classification", {"level": "V", "reason": "x"}, "level"),
        ("classification", {"level": "III", "reason": ""}, "reason"),
        ("classification", {"level": "III", "reason": "   "}, "reason"),
        ("command", {"action": "dissolve"}, "action"),
        ("command", {}, "action"),
        ("escalation", {}, "reason"),
        ("close", {"reason": ""}, "reason"),
    ]
    for action, body, field in cases:
        assert_problem(await api.post(f"{url}/{action}", reporter, json=body), 422, field)
    assert await stored_counts(api.db) == before
