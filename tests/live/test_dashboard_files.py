"""The dashboard's files over HTTP: only the files that are there, under a strict policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Api


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    # The files do not depend on the backend.
    from tests.conftest import reset_schema

    url = f"sqlite+aiosqlite:///{tmp_path / 'fabu.db'}"
    reset_schema(url)
    return url


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
