"""`fabu replay`: an incident's history from the database, for an auditor at a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from app.clock import ManualClock
from app.replay import replay
from tests.api.helpers import PANZHOU, create
from tests.conftest import Api

REPO = Path(__file__).resolve().parents[2]


async def _raised_to_ii(api: Api, clock: ManualClock) -> str:
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter, figures={"deaths": 4, "trapped": 4})
    clock.set(datetime(2026, 11, 27, 3, 0, tzinfo=UTC))
    response = await api.post(
        f"/api/v1/incidents/{incident['id']}/reports",
        reporter,
        {"figures": {"deaths": 12}, "note": "新发现遇难者8人"},
    )
    assert response.json()["level"] == "II"
    return str(incident["id"])


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABU_")}
    env |= {"FABU_DATABASE_URL": db_url, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "replay", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_replay_reads_the_timeline_in_beijing_time_and_the_events_in_order(
    api: Api, clock: ManualClock
) -> None:
    incident_id = await _raised_to_ii(api, clock)

    text = await replay(api.db, incident_id, clock)
    lines = text.splitlines()
    reported = next(line for line in lines if "incident reported" in line)
    # Reported at 02:00 UTC: 10:00 in Beijing.
    assert reported.startswith("2026-11-27 10:00:00  fact")
    assert any(
        line.startswith("2026-11-27 11:00:00") and "situation report" in line for line in lines
    )
    assert [line[:19] for line in lines] == sorted(line[:19] for line in lines)

    events = [
        json.loads(line)
        for line in (await replay(api.db, incident_id, clock, events=True)).splitlines()
    ]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert {e["incident_id"] for e in events} == {incident_id}
    types = [e["type"] for e in events]
    assert types[0] == "incident.reported"
    assert "incident.level_changed" in types
    assert types.index("incident.level_changed") > types.index("incident.reported")


async def test_the_command_prints_what_the_api_serves_and_refuses_an_unknown_incident(
    api: Api, clock: ManualClock
) -> None:
    incident_id = await _raised_to_ii(api, clock)
    auditor = await api.token("520000", "viewer")
    served = await api.get(f"/api/v1/incidents/{incident_id}/accountability?format=csv", auditor)

    printed = _cli(api.db.url, incident_id, "--format", "csv")
    assert printed.returncode == 0, printed.stderr
    # The API's timeline is computed at the test's clock, the command's at the real one (by
    # which the open clocks are long overdue): the same entries, at the same times.
    assert printed.stdout.splitlines()[0] == served.text.splitlines()[0]
    assert [r.split(",")[:2] for r in printed.stdout.splitlines()] == [
        r.split(",")[:2] for r in served.text.splitlines()
    ]
    assert "first_release: breached" in printed.stdout

    unknown = _cli(api.db.url, "inc_does_not_exist")
    assert unknown.returncode == 2
    assert "inc_does_not_exist: No such incident." in unknown.stderr
    assert unknown.stdout == ""
