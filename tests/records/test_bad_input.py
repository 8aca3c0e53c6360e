"""Bad input to the records endpoints: problem+json naming the field, nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from app.db import Database
from tests.api.helpers import assert_problem, stored_counts
from tests.conftest import Api
from tests.records.helpers import (
    CONFERENCES,
    EMERGENCY,
    INTERVIEWS,
    SPOKESPERSONS,
    WARNINGS,
    conference_body,
)

WARNING = {
    "colour": "orange",
    "event": "地质灾害",
    "areas": ["520281"],
    "onset": "2026-11-27T04:00:00Z",
    "description": "风险高",
    "instruction": "撤离",
}
INTERVIEW = {
    "reporter_name": "刘记者",
    "outlet": "贵州日报",
    "press_card_number": "B52000012345678",
    "subject": "安全生产",
}
SPOKESPERSON = {
    "role": "spokesperson",
    "name": "甲",
    "title": "副厅长",
    "appointed_on": "2026-01-05",
}


CASES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "conference a century ahead",
        CONFERENCES,
        conference_body(EMERGENCY, "9999-12-31T23:00:00Z"),
        "scheduled_at",
    ),
    (
        "conference without an offset",
        CONFERENCES,
        conference_body(EMERGENCY, "2026-12-04T10:00:00"),
        "scheduled_at",
    ),
    (
        "speaker without a name",
        CONFERENCES,
        conference_body(EMERGENCY, "2026-12-04T02:00:00Z", speakers=[{"title": "处长"}]),
        "speakers[0].name",
    ),
    (
        "speaker of an unknown organ",
        CONFERENCES,
        conference_body(
            EMERGENCY,
            "2026-12-04T02:00:00Z",
            speakers=[
                {"name": "甲", "title": "副厅长", "org_id": EMERGENCY},
                {"name": "乙", "title": "处长", "org_id": "dept-nope"},
            ],
        ),
        "speakers[1].org_id",
    ),
    (
        "unknown field",
        CONFERENCES,
        conference_body(EMERGENCY, "2026-12-04T02:00:00Z", rostrum=9),
        "rostrum",
    ),
    (
        "unknown incident",
        CONFERENCES,
        conference_body(EMERGENCY, "2026-12-04T02:00:00Z", incident_id="inc_nope"),
        "",
    ),
    (
        "warning expiring in year 9999",
        WARNINGS,
        {**WARNING, "expires": "9999-12-31T20:00:00Z"},
        "expires",
    ),
    ("warning with no area", WARNINGS, {**WARNING, "areas": []}, "areas"),
    (
        "warning with a bad response",
        WARNINGS,
        {**WARNING, "response_types": ["Run"]},
        "response_types[0]",
    ),
    (
        "appointment in year 1",
        SPOKESPERSONS,
        {**SPOKESPERSON, "appointed_on": "0001-01-01"},
        "appointed_on",
    ),
    ("interview without a subject", INTERVIEWS, {**INTERVIEW, "subject": ""}, "subject"),
    (
        "interview from 1990",
        INTERVIEWS,
        {**INTERVIEW, "requested_at": "1990-01-01T00:00:00Z"},
        "requested_at",
    ),
]


@pytest.mark.parametrize(("case", "url", "body", "field"), CASES, ids=[c[0] for c in CASES])
async def test_bad_bodies_are_refused_naming_the_field(
    api: Api, db: Database, case: str, url: str, body: dict[str, Any], field: str
) -> None:
    headers = await api.token(EMERGENCY, "drafter", "approver", "info_office")
    before = await stored_counts(db)
    response = await api.post(url, headers, body)
    if field:
        assert_problem(response, 422, field)
    else:
        assert_problem(response, 404)
    assert await stored_counts(db) == before


async def test_malformed_json_and_unknown_ids(api: Api) -> None:
    headers = await api.token(EMERGENCY, "drafter", "approver")
    response = await api.client.post(
        CONFERENCES, content=b'{"title": ', headers={**headers, "content-type": "application/json"}
    )
    assert_problem(response, 400, "body")
    for url, body in (
        (f"{CONFERENCES}/pcf_nope/hold", None),
        (f"{WARNINGS}/wrn_nope/cancel", {"reason": "x"}),
        (f"{INTERVIEWS}/itv_nope/accept", None),
        (f"{SPOKESPERSONS}/spk_nope/remove", {"reason": "x", "removed_on": "2026-01-01"}),
    ):
        assert_problem(await api.post(url, headers, body), 404)
    assert_problem(await api.get(f"{CONFERENCES}/pcf_nope", headers), 404)
    assert_problem(await api.get(f"{WARNINGS}/wrn_nope", headers), 404)
    assert_problem(await api.get(f"{SPOKESPERSONS}/annual-list?year=abc", headers), 422, "year")
    assert_problem(
        await api.client.get("/api/v1/feeds/warnings.atom?division=999999"), 422, "division"
    )
    unauthenticated = await api.client.get(f"{CONFERENCES}")
    assert_problem(unauthenticated, 401)
