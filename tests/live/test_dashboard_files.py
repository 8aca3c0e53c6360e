"""The dashboard's files over HTTP: only the files that are there, under a strict policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.events.types import EVENT_TYPES
from tests.conftest import Api
from tests.live.harness import sqlite_only


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    # The files do not depend on the backend.
    return sqlite_only(tmp_path)


async def test_the_page_and_its_assets_are_served_under_a_content_security_policy(
    api: Api,
) -> None:
    page = await api.get("/dashboard", {})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/dashboard/assets/dashboard.js"' in page.text

    script = await api.get("/dashboard/assets/dashboard.js", {})
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == "no-cache"

    moved = await api.get("/dashboard/", {})
    assert moved.status_code == 308 and moved.headers["location"] == "/dashboard"


@pytest.mark.parametrize(
    "name", ["missing.js", "..%2Fdb.py", "%2E%2E%2F%2E%2E%2Fpyproject.toml", "dashboard.html.bak"]
)
async def test_no_other_file_is_reachable_through_the_assets_path(api: Api, name: str) -> None:
    r = await api.get(f"/dashboard/assets/{name}", {})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


async def test_divisions_are_grouped_by_prefecture_with_guian_on_its_own(api: Api) -> None:
    r = await api.get("/dashboard/divisions.json", {})
    assert r.status_code == 200
    by_code = {d["code"]: d for d in r.json()["items"]}
    assert by_code["520281"]["prefecture_code"] == "520200"  # Panzhou, in Liupanshui
    assert by_code["520200"]["prefecture_code"] == "520200"
    assert by_code["52GA00"]["level"] == "new_area"
    assert by_code["52GA00"]["prefecture_code"] == "52GA00"


async def test_every_event_type_the_service_writes_has_a_label_and_no_other(api: Api) -> None:
    # The wall screen names each event in Chinese: a type without a label would show as
    # "release.withdrawn", and a label for a type never written is dead weight.
    script = (await api.get("/dashboard/assets/dashboard.js", {})).text
    table = re.search(r"const EVENTS = \{(.*?)\n  \};", script, re.S)
    assert table is not None
    labelled = re.findall(r'^\s*"([a-z_.]+)": \{ zh: "[^"]+", en: "[^"]+" \},$', table[1], re.M)
    assert len(labelled) == len(set(labelled))
    assert set(labelled) == EVENT_TYPES
    for name in ("BAD_EVENTS", "GOOD_EVENTS"):
        marked = re.search(rf"const {name} = new Set\(\[(.*?)\]\);", script)
        assert marked is not None
        assert set(re.findall(r'"([a-z_.]+)"', marked[1])) <= EVENT_TYPES
