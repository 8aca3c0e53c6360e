"""Debian's chromium under Playwright, for tests of what a person sees.

Import the fixtures into a conftest: `from tests.browser_kit import browser, chromium_path`.
Without chromium the tests skip visibly; in CI (FABU_REQUIRE_BROWSER=1) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
REQUIRE_BROWSER = os.environ.get("FABU_REQUIRE_BROWSER") == "1"
# Screenshots the tests take for people to look at; docs/screenshots/ keeps the ones shown.
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
# Without the background-networking flags chromium keeps dialling out of a closed network.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        if REQUIRE_BROWSER:
            pytest.fail(
                f"FABU_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)"
            )
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def serious_accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each ('' when clean).

    axe-core comes bundled in axe-playwright-python, so no script is fetched at test time.
    """
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
