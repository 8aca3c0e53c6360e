"""Bad input is refused as problem+json naming the field; nothing stored changes, never a 500."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.exc import DataError

from app.auth import Role
from app.clock import iso
from app.config import Settings
from app.main import create_app
from app.schemas.base import Moment
from app.workflows import incidents as incidents_flow
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
ALL_ROLES = [r.value for r in Role]


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
    # Characters no database or reader can take, anywhere in the body (PostgreSQL keeps no
    # NUL in text; SQLite would store it, so both must refuse it before a row is written).
    ("a NUL in the title", _body(title="透水\u0000事故"), JSON, 422, "title"),
    ("a NUL in the place", _body(place="盘州\u0000"), JSON, 422, "place"),
    (
        "an escape character in the description",
        _body(description="\u001b[31m"),
        JSON,
        422,
        "description",
    ),
    ("a lone surrogate in the title", _body(title="\ud800"), JSON, 422, "title"),
    (
        "a NUL in the second division code",
        _body(division_codes=[PANZHOU, "\u0000"]),
        JSON,
        422,
        "division_codes[1]",
    ),
    ("a NUL in a figure's name", _body(figures={"deaths\u0000": 1}), JSON, 422, "figures"),
    ("a NUL in a criterion", _body(criteria=["\u0000"]), JSON, 422, "criteria[0]"),
    (
        "a division code given as a number",
        _body(division_codes=[520281]),
        JSON,
        422,
        "division_codes[0]",
    ),
    # Nothing recorded here predates 1949-10-01 (Beijing time); year 1 once came back as 201,
    # and with an offset it overflowed into a 500.
    ("occurred in year 1", _body(occurred_at="0001-01-01T00:00:00Z"), JSON, 422, "occurred_at"),
    (
        "occurred in year 1, Beijing time",
        _body(occurred_at="0001-01-01T00:00:00+08:00"),
        JSON,
        422,
        "occurred_at",
    ),
    (
        "occurred the second before 1949-10-01",
        _body(occurred_at="1949-09-30T23:59:59+08:00"),
        JSON,
        422,
        "occurred_at",
    ),
    (
        "reported in year 9999",
        _body(reported_at="9999-12-31T23:00:00-08:00"),
        JSON,
        422,
        "reported_at",
    ),
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
    ("a since in year 1", "since=0001-01-01T00:00:00%2B08:00", "since"),
    ("a NUL in the cursor", "cursor=%00", "cursor"),
    ("a NUL in the division", "division=%00", "division"),
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


# -- characters no database can keep -------------------------------------------------------


def _routes() -> list[APIRoute]:
    """Every HTTP route the app serves."""
    app = create_app(Settings(database_url="sqlite+aiosqlite://"), start_services=False)
    found: list[Any] = []
    for route in app.router.routes:
        router = getattr(route, "original_router", None)  # an included router, kept whole
        found.extend(router.routes if router is not None else [route])
    return [r for r in found if isinstance(r, APIRoute)]


def _body_model(route: APIRoute) -> type[BaseModel] | None:
    if route.body_field is None:
        return None
    annotation = route.body_field.field_info.annotation
    for candidate in get_args(annotation) or (annotation,):  # `Note | None` for an optional body
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _filled(path: str, param: str | None = None) -> str:
    """The route's path with every parameter "x", or a NUL for `param`."""
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "%00" if m.group(1) == param else "x", path)


def _methods(route: APIRoute) -> list[str]:
    return sorted((route.methods or set()) - {"HEAD"})


ROUTES = _routes()
# (method, a URL carrying a NUL, the parameter that carries it)
NUL_PARAMS = [
    (method, _filled(r.path, p.name), p.name)
    for r in ROUTES
    for method in _methods(r)
    for p in r.dependant.path_params
] + [
    (method, f"{_filled(r.path)}?{p.name}=%00", p.name)
    for r in ROUTES
    for method in _methods(r)
    for p in r.dependant.query_params
]
# (method, path, the first field of its body)
BODIES = [
    (method, _filled(r.path), next(iter(model.model_fields)))
    for r in ROUTES
    if (model := _body_model(r)) is not None
    for method in _methods(r)
]


async def _everyone(api: Api) -> dict[str, str]:
    return await api.token(GUIZHOU, *ALL_ROLES)


async def test_a_nul_in_any_path_or_query_parameter_is_a_422_naming_it(api: Api) -> None:
    # On PostgreSQL each of these was a 500 (a NUL cannot be bound as text).
    headers = await _everyone(api)
    before = await stored_counts(api.db)
    assert len(NUL_PARAMS) > 60
    for method, url, param in NUL_PARAMS:
        if url.startswith("/dashboard/"):
            continue  # static files: no database behind them
        response = await api.client.request(method, url, headers=headers, json={})
        assert_problem(response, 422, param)
        assert response.json()["errors"][0]["message"] == "contains a control character (U+0000)"
    assert await stored_counts(api.db) == before


async def test_a_nul_in_the_body_of_any_endpoint_is_a_422_naming_the_field(api: Api) -> None:
    headers = await _everyone(api)
    before = await stored_counts(api.db)
    assert len(BODIES) > 25
    for method, url, field in BODIES:
        if url.startswith("/api/v1/_noop"):
            continue  # the benchmarks' baseline: nothing is stored
        response = await api.client.request(method, url, headers=headers, json={field: "a\0"})
        assert_problem(response, 422, field)
    assert await stored_counts(api.db) == before


async def test_an_idempotency_key_with_a_nul_is_refused_before_it_is_stored(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    before = await stored_counts(api.db)
    response = await api.post(
        INCIDENTS, {**reporter, "Idempotency-Key": "k\0"}, json=incident_body()
    )
    assert_problem(response, 422, "idempotency-key")
    assert response.json()["errors"][0]["message"] == "must be printable ASCII"
    assert await stored_counts(api.db) == before


async def test_a_nul_deep_in_a_release_s_facts_names_its_path(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter", "drafter")
    incident = await create(api, reporter)
    before = await stored_counts(api.db)
    facts = {"place": "盘州市", "casualties": {"deaths": 0}, "measures": "救援\u0000"}
    body = {"kind": "first", "title": "t", "body": "b", "channels": ["website"], "facts": facts}
    response = await api.post(f"{INCIDENTS}/{incident['id']}/releases", reporter, json=body)
    assert_problem(response, 422, "facts.measures")
    assert response.json()["detail"] == "facts.measures: contains a control character (U+0000)"
    assert await stored_counts(api.db) == before


async def test_tabs_and_line_breaks_are_still_welcome(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter, description="第一段\r\n\t第二段")
    assert incident["description"] == "第一段\r\n\t第二段"


async def test_a_cursor_hiding_a_nul_is_never_a_500(api: Api) -> None:
    # A cursor is opaque base64, so a NUL inside it passes the parameter check; PostgreSQL
    # then refuses to bind it, and that refusal is the caller's 422.
    viewer = await api.token(GUIZHOU, "viewer")
    crafted = (
        b"2026-11-27T02:00:00Z|\0",  # an id no database stores
        b"2026-11-27T02:00:00|inc_x",  # a time without offset
        b"0001-01-01T00:00:00+08:00|inc_x",  # a time out of range
    )
    for raw in crafted:
        cursor = base64.urlsafe_b64encode(raw).decode()
        for url in (INCIDENTS, "/api/v1/releases", "/api/v1/obligations"):
            response = await api.get(f"{url}?cursor={cursor}", viewer)
            assert_problem(response, 422, field="cursor")
            assert "SELECT" not in response.text


async def test_a_value_the_database_refuses_is_a_422_logged_once_as_a_warning(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter)

    async def refused(*_: Any, **__: Any) -> Any:
        raise DataError(
            "SELECT incidents.id FROM incidents WHERE incidents.id = %(id)s",
            {"id": "secret\0"},
            Exception("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
        )

    monkeypatch.setattr(incidents_flow, "get_visible", refused)
    caplog.set_level(logging.WARNING)
    response = await api.get(f"{INCIDENTS}/{incident['id']}", reporter)
    assert_problem(response, 422)
    assert response.json()["type"].endswith("/unstorable-value")
    assert "secret" not in response.text and "SELECT" not in response.text
    assert [(r.name, r.levelname) for r in caplog.records] == [("fabu.errors", "WARNING")]
    assert "secret" not in caplog.text


async def test_an_unexpected_error_is_a_500_problem_logged_once(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter)

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(incidents_flow, "get_visible", broken)
    caplog.set_level(logging.ERROR)
    # The transport raises whatever the app lets escape, as a server would log it again: the
    # answer arriving at all shows that nothing escaped after the one log line.
    response = await api.get(f"{INCIDENTS}/{incident['id']}", reporter)
    assert_problem(response, 500)
    assert "a bug" not in response.text
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [(r.name, r.exc_info is not None) for r in logged] == [("fabu.errors", True)]


# -- messages a caller can act on -----------------------------------------------------------


async def test_a_form_encoded_body_is_told_to_send_json(api: Api) -> None:
    # What `curl -d` sends unless told otherwise.
    reporter = await api.token(PANZHOU, "reporter")
    before = await stored_counts(api.db)
    response = await api.client.post(
        INCIDENTS,
        content=json.dumps(incident_body()).encode(),
        headers={**reporter, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 422, "body")
    assert response.json()["errors"] == [
        {"field": "body", "message": "send the body as JSON with Content-Type: application/json"}
    ]
    assert await stored_counts(api.db) == before


async def test_a_time_without_offset_is_shown_what_one_looks_like(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    response = await api.post(
        INCIDENTS, reporter, json=incident_body(occurred_at="2026-11-27T09:00:00")
    )
    assert_problem(response, 422, "occurred_at")
    assert response.json()["detail"] == (
        "occurred_at: needs a UTC offset (e.g. 2026-11-28T10:00:00+08:00 or 2026-11-28T02:00:00Z)"
    )


async def test_an_unknown_field_is_named_beside_the_fields_expected(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter", "drafter")
    incident = await create(api, reporter)
    before = await stored_counts(api.db)
    facts = {"casualties": {"deaths": 1, "injuries": 2}}
    body = {"kind": "first", "title": "t", "body": "b", "channels": ["website"], "facts": facts}
    response = await api.post(f"{INCIDENTS}/{incident['id']}/releases", reporter, json=body)
    assert_problem(response, 422, "facts.casualties.injuries")
    assert response.json()["errors"][0]["message"] == (
        "unknown field 'injuries'; expected one of: deaths, injured, missing, involved"
    )
    top = await api.post(INCIDENTS, reporter, json=incident_body(severity="high"))
    assert_problem(top, 422, "severity")
    message = top.json()["errors"][0]["message"]
    assert message.startswith("unknown field 'severity'; expected one of: category, subtype,")
    assert await stored_counts(api.db) == before


async def test_list_positions_are_written_one_way_in_fields_and_detail(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    # One position refused by the shape of the body, one by the directory: the same style.
    by_shape = await api.post(INCIDENTS, reporter, json=incident_body(division_codes=[PANZHOU, 7]))
    by_directory = await api.post(
        INCIDENTS, reporter, json=incident_body(division_codes=[PANZHOU, "529999"])
    )
    for response in (by_shape, by_directory):
        assert_problem(response, 422, "division_codes[1]")
        assert response.json()["detail"].startswith("division_codes[1]: ")


async def test_malformed_json_names_the_line_and_column(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    before = await stored_counts(api.db)
    response = await api.client.post(
        INCIDENTS,
        content=b'{\n  "category": "accident",\n  "title": ,\n}',
        headers={**reporter, **JSON},
    )
    assert_problem(response, 400, "body")
    assert response.json()["detail"] == (
        "The body is not valid JSON: Expecting value at line 3, column 12."
    )
    assert await stored_counts(api.db) == before


async def test_an_incident_of_1949_10_01_is_the_oldest_taken(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter, occurred_at="1949-10-01T00:00:00+08:00")
    assert incident["occurred_at"] == "1949-09-30T16:00:00Z"
    older = await api.post(
        INCIDENTS, reporter, json=incident_body(occurred_at="1949-09-30T23:59:59+08:00")
    )
    assert_problem(older, 422, "occurred_at")
    assert older.json()["errors"][0]["message"].startswith("is before 1949-10-01 (Beijing time)")


def test_a_time_is_taken_up_to_the_last_second_of_2100_beijing_time() -> None:
    moment = TypeAdapter(Moment)
    assert moment.validate_python("2100-12-31T23:59:59+08:00") == datetime(
        2100, 12, 31, 15, 59, 59, tzinfo=UTC
    )
    assert moment.validate_python("2100-12-31T15:59:59Z").year == 2100
    # The first second of 2101 in Beijing, however it is written.
    for later in ("2101-01-01T00:00:00+08:00", "2100-12-31T16:00:00Z"):
        with pytest.raises(ValidationError, match="is after 2100"):
            moment.validate_python(later)


async def test_full_width_codes_and_roman_numeral_levels_are_read_as_meant(api: Api) -> None:
    # Typed with a Chinese input method: full-width digits, Ⅱ as one character.
    reporter = await api.token(PANZHOU, "reporter")
    response = await api.post(
        INCIDENTS,
        reporter,
        json=incident_body(
            division_codes=["５２０２８１"], asserted_level="Ⅱ", asserted_basis="现场指挥部研判"
        ),
    )
    assert response.status_code == 201, response.text
    assert response.json()["division_codes"] == ["520281"]
    assert response.json()["level"] == "II"


async def test_a_place_given_by_name_is_answered_with_its_code(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    before = await stored_counts(api.db)
    response = await api.post(INCIDENTS, reporter, json=incident_body(division_codes=["盘州市"]))
    assert_problem(response, 422, "division_codes[0]")
    assert "盘州市 (Panzhou City) is 520281" in response.json()["detail"]
    assert await stored_counts(api.db) == before


async def test_a_missing_role_is_named_beside_the_roles_the_token_has(api: Api) -> None:
    viewer = await api.token(PANZHOU, "viewer")
    response = await api.post(INCIDENTS, viewer, json=incident_body())
    assert_problem(response, 403)
    assert response.json()["detail"] == (
        "This needs one of the roles: reporter; this token has: viewer."
    )
