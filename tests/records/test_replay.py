"""`fabu replay`: an incident's history from the database, for an auditor at a terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from app.clock import ManualClock
from app.replay import replay
from app.scheduler.firing import fire_due
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


async def test_the_text_timeline_gives_each_clock_its_due_and_breach_in_beijing_time(
    api: Api, clock: ManualClock
) -> None:
    incident_id = await _raised_to_ii(api, clock)
    # The scheduler looks at 14:00 in Beijing: the first release (due 12:00) and the
    # follow-up (due 13:00) are breached then.
    clock.set(datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
    await fire_due(api.db, clock)

    lines = (await replay(api.db, incident_id, clock)).splitlines()
    first = next(line for line in lines if "obligation" in line and "first_release" in line)
    assert first.startswith("2026-11-27 11:00:00  obligation")
    assert "due 2026-11-27 12:00:00, breached 2026-11-27 14:00:00" in first
    assert first.endswith("(late 7200 s)")
    follow_up = next(line for line in lines if "obligation" in line and "follow_up" in line)
    assert "due 2026-11-27 13:00:00, breached 2026-11-27 14:00:00" in follow_up
    conference = next(line for line in lines if "press_conference: pending" in line)
    assert "due 2026-11-28 09:00:00" in conference
    assert "breached" not in conference
    # The times inside details are Beijing time too: it occurred at 01:00 UTC.
    reported = next(line for line in lines if "incident reported" in line)
    assert "occurred 2026-11-27 09:00:00; received 2026-11-27 10:00:00" in reported
    assert not re.search(r"\d{2}:\d{2}:\d{2}(\.\d+)?Z", "\n".join(lines))

    # The other forms stay as the API serves them, in UTC.
    as_json = json.loads(await replay(api.db, incident_id, clock, fmt="json"))
    entry = next(
        e for e in as_json["entries"] if e["kind"] == "obligation" and "first_release" in e["what"]
    )
    assert (entry["due_at"], entry["breached_at"]) == (
        "2026-11-27T04:00:00Z",
        "2026-11-27T06:00:00Z",
    )
