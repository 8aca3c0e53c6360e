"""/metrics shows every counter from start, at 0, so alert rules never see "no data"."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import get_args

import httpx
import pytest

from app import metrics
from app.config import Settings
from app.events import hub
from app.main import create_app
from app.publishing import policy
from app.routers import live

# The ones an operator's alert rules watch first.
ALERTED = (
    "fabu_obligation_breaches_total",
    "fabu_webhook_dead_letters_total",
    "fabu_live_closed_total",
    "fabu_scheduler_safety_net_total",
)

FRESH = textwrap.dedent(
    """
    import asyncio, sys
    import httpx
    from app.config import Settings
    from app.main import create_app

    async def main() -> None:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{sys.argv[1]}",
            scheduler_enabled=False,
            delivery_enabled=False,
        )
        app = create_app(settings, start_services=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as c:
            response = await c.get("/metrics")
        assert response.status_code == 200, response.text
        sys.stdout.write(response.text)

    asyncio.run(main())
    """
)


def samples(text: str) -> dict[str, float]:
    """Each series line of the exposition, `name{labels}` to its value."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            assert series not in found, f"{series} appears twice"
            found[series] = float(value)
    return found


def expected_series() -> list[str]:
    out = []
    for name, counter in metrics.COUNTERS.items():
        if counter.label is None:
            out.append(name)
        else:
            out += [f'{name}{{{counter.label}="{v}"}}' for v in counter.values]
    return out


def test_a_fresh_instance_shows_every_counter_at_zero(tmp_path: Path) -> None:
    # A process of its own: this one's counters have counted whatever other tests did.
    done = subprocess.run(
        [sys.executable, "-c", FRESH, str(tmp_path / "fabu.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown = samples(done.stdout)
    for series in expected_series():
        assert shown.get(series) == 0.0, f"{series} missing or not 0 in:\n{done.stdout}"
    for name in ALERTED:
        assert name in metrics.COUNTERS
        assert f"# TYPE {name} counter" in done.stdout
    assert 'fabu_live_closed_total{code="4401"} 0.0' in done.stdout.splitlines()
    assert 'fabu_webhook_attempts_total{outcome="retry"} 0.0' in done.stdout.splitlines()


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'fabu.db'}",
        scheduler_enabled=False,
        delivery_enabled=False,
    )
    app = create_app(settings, start_services=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as c:
        yield c


async def test_a_count_replaces_the_zero_rather_than_adding_a_series(
    client: httpx.AsyncClient,
) -> None:
    dead_before = metrics.value("fabu_webhook_dead_letters_total")
    closed_before = metrics.value("fabu_live_closed_total", code="4008")
    metrics.inc("fabu_webhook_dead_letters_total")
    metrics.inc("fabu_live_closed_total", code="4008")
    shown = samples((await client.get("/metrics")).text)  # a repeated series fails here
    assert shown["fabu_webhook_dead_letters_total"] == dead_before + 1
    assert shown['fabu_live_closed_total{code="4008"}'] == closed_before + 1
    # The other codes stay listed beside it.
    assert 'fabu_live_closed_total{code="1013"}' in shown


async def test_a_code_outside_the_known_ones_still_counts(client: httpx.AsyncClient) -> None:
    before = metrics.value("fabu_live_closed_total", code="1006")
    metrics.inc("fabu_live_closed_total", code="1006")
    shown = samples((await client.get("/metrics")).text)
    assert shown['fabu_live_closed_total{code="1006"}'] == before + 1


def test_the_labels_shown_at_zero_are_the_ones_the_service_counts() -> None:
    codes = {
        hub.CLOSE_BAD_REQUEST,
        hub.CLOSE_UNAUTHORIZED,
        hub.CLOSE_SLOW_CONSUMER,
        hub.CLOSE_RESTART,
        hub.CLOSE_UNAVAILABLE,
        live.CLOSE_INTERNAL,
    }
    assert set(metrics.COUNTERS["fabu_live_closed_total"].values) == {str(c) for c in codes}
    outcomes = metrics.COUNTERS["fabu_webhook_attempts_total"].values
    assert set(outcomes) == set(get_args(policy.Classification))


def test_an_undeclared_counter_is_refused_rather_than_silently_missing_from_start() -> None:
    with pytest.raises(ValueError, match="fabu_webhook_dead_letter_total"):
        metrics.inc("fabu_webhook_dead_letter_total")
