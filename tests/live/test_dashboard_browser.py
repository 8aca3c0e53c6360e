"""The dashboard in real headless Chromium, against the app on uvicorn.

A duty officer signs in with a token; an incident reported through the API appears live with
its level colour and a countdown to its first release that matches the due time, counted on
the server's clock even when the screen's own clock is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.clock import iso
from app.db import Database
from tests.live.conftest import StartServer
from tests.live.harness import LiveServer, bearer, mint, sqlite_only

CHROMIUM = "/usr/bin/chromium"
REQUIRE_BROWSER = os.environ.get("FABU_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Level colours of dashboard.css: I red, II orange, III yellow, IV blue.
LEVEL_RGB = {
    "I": "rgb(229, 56, 59)",
    "II": "rgb(247, 127, 0)",
    "III": "rgb(245, 197, 24)",
    "IV": "rgb(47, 128, 237)",
}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class SkewedClock:
    """The server's clock, 1 h 23 min 17 s ahead of the browser's: the countdown must follow
    the server, whose clock the deadlines are kept by."""

    skew = timedelta(hours=1, minutes=23, seconds=17)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.skew


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


def body(
    clock: SkewedClock,
    code: str,
    title: str,
    ago: timedelta,
    reported_ago: timedelta | None = None,
    **figures: int,
) -> dict[str, Any]:
    return {
        "category": "accident",
        "subtype": "mining",
        "title": title,
        "occurred_at": iso(clock.now() - ago),
        "reported_at": iso(clock.now() - (reported_ago or timedelta(0))),
        "division_codes": [code],
        "place": "",
        "figures": figures,
    }


def seconds_of(countdown: str) -> int:
    match = re.fullmatch(r"(?:(\d+)天 )?(\d\d):(\d\d):(\d\d)", countdown.strip())
    assert match, countdown
    days, h, m, s = (int(g or 0) for g in match.groups())
    return days * 86400 + h * 3600 + m * 60 + s


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    # One backend is enough for what a browser shows; the protocol runs on both elsewhere.
    return sqlite_only(tmp_path)


async def test_a_reported_incident_appears_live_with_its_colour_and_a_true_countdown(
    start_server: StartServer, db: Database, browser: Any
) -> None:
    clock = SkewedClock()
    server: LiveServer = await start_server()
    server.app.state.runtime.clock = clock
    officer, _ = await mint(db, clock, "io-520000", "viewer")
    reporter, _ = await mint(db, clock, "520000", "reporter")

    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(reporter)) as http:

        async def report(payload: dict[str, Any]) -> dict[str, Any]:
            r = await http.post("/api/v1/incidents", json=payload)
            assert r.status_code == 201, r.text
            incident: dict[str, Any] = r.json()
            return incident

        # The shift so far: a particularly serious one in Zunyi, a late one whose first
        # release is already overdue, and two lesser ones.
        await report(
            body(
                clock,
                "520302",
                "红花岗区某煤矿瓦斯爆炸",
                timedelta(minutes=50),
                deaths=31,
                injuries=46,
            )
        )
        late = await report(
            body(
                clock,
                "520111",
                "花溪区隧道施工坍塌",
                timedelta(hours=3, minutes=12),
                reported_ago=timedelta(hours=3, minutes=2),
                deaths=11,
                trapped=4,
            )
        )
        await report(
            body(
                clock,
                "520203",
                "六枝特区危化品运输车侧翻",
                timedelta(minutes=35),
                deaths=4,
                injuries=9,
            )
        )
        await report(
            body(
                clock,
                "522301",
                "兴义市建筑工地脚手架倒塌",
                timedelta(minutes=15),
                deaths=1,
                injuries=3,
            )
        )

        context = await browser.new_context(
            viewport={"width": 1920, "height": 1080}, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        page = await context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

        await page.goto(f"{server.base_url}/dashboard")
        await page.wait_for_selector("#token-input")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "dashboard-login.png"))
        # A wrong token is refused on the spot, in words.
        await page.fill("#token-input", "fabu_wrong")
        await page.click("#login-button")
        await page.wait_for_function(
            "() => document.querySelector('#login-error').textContent === '令牌无效或已撤销'"
        )
        problems.clear()  # the browser logs that refused request; nothing else may fail
        await page.fill("#token-input", officer)
        await page.click("#login-button")
        await page.wait_for_selector("#conn[data-state=live]", timeout=10_000)
        assert await page.locator(".incident").count() == 4

        # Reported now, through the API, while the officer watches.
        incident = await report(
            body(clock, "520281", "盘州市某煤矿透水", timedelta(minutes=20), deaths=12, missing=3)
        )
        assert incident["level"] == "II"
        card = page.locator(f'.incident[data-incident-id="{incident["id"]}"]')
        await card.wait_for(timeout=10_000)

        assert await card.get_attribute("data-level") == "II"
        badge = card.locator(".level-badge")
        assert await badge.inner_text() == "Ⅱ级 重大"
        colour = await badge.evaluate("el => getComputedStyle(el).backgroundColor")
        assert colour == LEVEL_RGB["II"]
        responsible = incident["responsible_org"]["name_zh"]
        assert await card.locator(".responsible .value").inner_text() == responsible

        # What the API says its clock is (the dashboard reads the same).
        stored = (
            await http.get(f"/api/v1/incidents/{incident['id']}", headers=bearer(officer))
        ).json()
        first_release = next(o for o in stored["obligations"] if o["kind"] == "first_release")
        due = datetime.fromisoformat(first_release["due_at"].replace("Z", "+00:00"))
        countdown = card.locator(
            f'.obligation[data-obligation-id="{first_release["id"]}"] .countdown'
        )
        shown = seconds_of(await countdown.inner_text())
        expected = (due - clock.now()).total_seconds()
        assert abs(shown - expected) <= 2, (shown, expected)
        # It ticks: within a couple of seconds it shows less.
        await page.wait_for_function(
            "([el, s]) => el.textContent.trim() !== s",
            arg=[await countdown.element_handle(), await countdown.inner_text()],
            timeout=3_000,
        )

        # The late incident's first release is marked overdue.
        overdue = page.locator(f'.incident[data-incident-id="{late["id"]}"] .obligation.overdue')
        assert await overdue.count() >= 1
        assert (await overdue.first.locator(".countdown").inner_text()).startswith("逾期")
        assert int(await page.inner_text("#stat-overdue")) >= 1

        # Every level in its colour.
        for level, rgb in LEVEL_RGB.items():
            badge = page.locator(f".incident.level-{level} .level-badge").first
            assert await badge.evaluate("el => getComputedStyle(el).backgroundColor") == rgb

        # The feed shows the new incident on top.
        assert "盘州市某煤矿透水" in await page.inner_text("#feed")

        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"))

        # English on demand.
        await page.click("#app .lang-toggle")
        assert await card.locator(".level-badge").inner_text() == "II · Major"
        await page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"))
        await page.click("#app .lang-toggle")

        # A prefecture at a time: Liupanshui has the Panzhou and Liuzhi incidents.
        await page.select_option("#prefecture-filter", "520200")
        assert await page.locator(".incident").count() == 2
        await page.select_option("#prefecture-filter", "")
        assert await page.locator(".incident").count() == 5

        # The instance asks its clients to come back (1012, as on a restart): the page
        # reconnects at once, resumes after the last seq it saw and misses nothing.
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        seen = int(await page.evaluate("sessionStorage.getItem('fabu.lastSeq')"))
        server.hub.disconnect_all()
        meanwhile = await report(
            body(clock, "520102", "南明区某商场火灾", timedelta(minutes=5), deaths=3, injuries=2)
        )
        await page.locator(f'.incident[data-incident-id="{meanwhile["id"]}"]').wait_for(
            timeout=10_000
        )
        await page.wait_for_selector("#conn[data-state=live]")
        resumed = re.search(r"after=(\d+)", sockets[0])
        assert resumed is not None and int(resumed.group(1)) >= seen > 0
        feed = await page.eval_on_selector_all(
            "#feed li[data-seq]", "els => els.map(e => Number(e.dataset.seq))"
        )
        assert len(feed) == len(set(feed))  # nothing shown twice

        # The same board on a duty laptop and on a 4K wall.
        for width, height in ((1366, 768), (3840, 2160)):
            await page.set_viewport_size({"width": width, "height": height})
            await page.screenshot(path=str(ARTIFACTS / f"dashboard-{width}.png"))

        assert problems == []
        await context.close()


async def test_a_wall_screen_told_to_stay_signed_in_comes_back_by_itself(
    start_server: StartServer, db: Database, browser: Any
) -> None:
    server: LiveServer = await start_server()
    clock = server.app.state.runtime.clock
    wall, _ = await mint(db, clock, "io-520000", "viewer")
    desk, desk_id = await mint(db, clock, "io-520000", "viewer")
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")

    async def sign_in(token: str, *, remember: bool) -> None:
        page = await context.new_page()
        await page.goto(f"{server.base_url}/dashboard")
        await page.wait_for_selector("#token-input")
        await page.fill("#token-input", token)
        if remember:
            await page.check("#remember-input")
        await page.click("#login-button")
        await page.wait_for_selector("#conn[data-state=live]", timeout=10_000)
        await page.close()

    async def reopened() -> Any:
        # A new tab starts with empty sessionStorage, as a restarted browser does.
        page = await context.new_page()
        await page.goto(f"{server.base_url}/dashboard")
        await page.wait_for_selector("#login:not([hidden]), #conn[data-state=live]")
        return page

    # Without the tick, a restart asks for the token again.
    await sign_in(desk, remember=False)
    page = await reopened()
    assert await page.is_visible("#token-input")
    await page.close()

    # With it, the screen comes back live with no one at the keyboard.
    await sign_in(wall, remember=True)
    page = await reopened()
    await page.wait_for_selector("#conn[data-state=live]", timeout=10_000)
    # Signing out forgets it.
    await page.click("#logout")
    await page.close()
    page = await reopened()
    assert await page.is_visible("#token-input")
    await page.close()

    # A remembered token revoked meanwhile is dropped, and the screen says why.
    await sign_in(desk, remember=True)
    admin, _ = await mint(db, clock, "520000", "admin")
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin)) as http:
        assert (await http.delete(f"/api/v1/tokens/{desk_id}")).status_code == 204
    page = await reopened()
    await page.wait_for_function(
        "() => document.querySelector('#login-error').textContent === '令牌无效或已撤销'"
    )
    assert await page.evaluate("() => localStorage.getItem('fabu.token')") is None
    await context.close()
