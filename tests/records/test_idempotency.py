"""A create sent twice with one Idempotency-Key makes one thing (PRODUCT: every create)."""

from __future__ import annotations

from typing import Any

import pytest

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

BODIES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    CONFERENCES: (
        conference_body(EMERGENCY, "2026-12-04T02:00:00Z"),
        conference_body(EMERGENCY, "2026-12-05T02:00:00Z"),
    ),
    WARNINGS: (
        {
            "colour": "blue",
            "event": "大风",
            "areas": ["520281"],
            "onset": "2026-11-27T04:00:00Z",
            "description": "阵风7级",
            "instruction": "加固搭建物",
        },
        {
            "colour": "yellow",
            "event": "大风",
            "areas": ["520281"],
            "onset": "2026-11-27T04:00:00Z",
            "description": "阵风9级",
            "instruction": "加固搭建物",
        },
    ),
    SPOKESPERSONS: (
        {"role": "spokesperson", "name": "甲", "title": "副厅长", "appointed_on": "2026-01-05"},
        {"role": "spokesperson", "name": "乙", "title": "副厅长", "appointed_on": "2026-01-05"},
    ),
    INTERVIEWS: (
        {
            "reporter_name": "刘记者",
            "outlet": "贵州日报",
            "press_card_number": "B52000012345678",
            "subject": "安全生产",
        },
        {
            "reporter_name": "王记者",
            "outlet": "贵州日报",
            "press_card_number": "B52000012345679",
            "subject": "安全生产",
        },
    ),
}


@pytest.mark.parametrize("url", list(BODIES))
async def test_the_same_create_sent_twice_is_one(api: Api, db: Any, url: str) -> None:
    headers = await api.token(EMERGENCY, "drafter", "approver")
    keyed = {**headers, "Idempotency-Key": "k-1"}
    body, other = BODIES[url]
    first = await api.post(url, keyed, body)
    assert first.status_code == 201, first.text
    counts = await stored_counts(db)
    again = await api.post(url, keyed, body)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert await stored_counts(db) == counts
    assert_problem(await api.post(url, keyed, other), 409)
    # Without a key, or with another one, it is a new one.
    fresh = await api.post(url, {**headers, "Idempotency-Key": "k-2"}, other)
    assert fresh.status_code == 201
    assert fresh.json()["id"] != first.json()["id"]
