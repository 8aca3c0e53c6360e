"""Real server processes: killed with SIGKILL and started again, or two at once on PostgreSQL.

Each process is `python -m uvicorn --factory tests.obligations.server:create` on a free
loopback port; its clock runs FABU_TEST_CLOCK_OFFSET_SECONDS ahead of the system clock, so
"down for an hour" is a restart with an offset an hour larger. Events are counted in the
database: every reminder and breach exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app import directory
from app.clock import SystemClock
from app.db import Database
from app.models import Event, ObligationTimer
from app.models.obligations import AccountabilityRecord, SchedulerLease
from app.rules import obligations as rules
from app.workflows import obligations as flow
from app.workflows import tokens as tokens_wf
from tests.conftest import PG_URL, need_postgres, reset_schema
from tests.obligations.server import OFFSET_ENV

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FIRING_EVENTS = ("obligation.reminder", "obligation.breached", "escalation.raised")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One uvicorn process of the service."""

    def __init__(self, url: str, log: Path, *, offset: float = 0.0) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "FABU_DATABASE_URL": url,
            "FABU_DELIVERY_ENABLED": "false",
            "FABU_SCHEDULER_ENABLED": "true",
            # A killed holder's lease runs out quickly, so a successor takes over in seconds.
            "FABU_SCHEDULER_LEASE_SECONDS": "2",
            OFFSET_ENV: str(offset),
        }
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "tests.obligations.server:create",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"

    async def ready(self, within: float = 20.0) -> dict[str, object]:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.base, timeout=2.0) as client:
            while True:
                assert self.proc.poll() is None, f"server exited: {self.proc.returncode}"
                try:
                    r = await client.get("/readyz")
                    if r.status_code == 200:
                        return dict(r.json()["checks"]["scheduler"])
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not become ready"
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if not self.log.closed:
            self.log.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


async def _firings(db: Database) -> Counter[tuple[str, str, str]]:
    """How many times each (event type, obligation, reminder) was written."""
    async with db.read() as session:
        rows = (await session.execute(select(Event).where(Event.type.in_(FIRING_EVENTS)))).scalars()
        return Counter(
            (e.type, e.data.get("id") or e.data.get("obligation_id"), e.data.get("reminder", ""))
            for e in rows
        )


async def _until(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "the server did not fire in time"
        await asyncio.sleep(0.1)


async def _prepare(url: str) -> Database:
    reset_schema(url)
    db = Database(url)
    async with db.write() as session:
        await directory.seed(session)
    return db


async def test_what_falls_due_while_the_server_is_killed_fires_once_after_it_restarts(
    tmp_path: Path, servers: list[Server]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fabu.db'}"
    db = await _prepare(url)
    log = tmp_path / "server.log"
    try:
        async with db.write() as session:
            _, token = await tokens_wf.issue(
                session,
                org_id="gov-520000",
                roles=["reporter"],
                name="restart test",
                clock=SystemClock(),
                actor=None,
            )
        first = Server(url, log)
        servers.append(first)
        await first.ready()
        now = datetime.now(UTC)
        async with httpx.AsyncClient(base_url=first.base) as client:
            r = await client.post(
                "/api/v1/incidents",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "category": "accident",
                    "subtype": "mining",
                    "title": "Flooded coal mine, reported ten hours late",
                    "occurred_at": (now - timedelta(hours=10)).isoformat(),
                    "division_codes": ["520281"],
                    "figures": {"deaths": 10},
                },
            )
        assert r.status_code == 201, r.text
        obligations = {o["kind"]: o for o in r.json()["obligations"]}
        release = obligations["first_release"]
        conference = obligations["press_conference"]
        reported = _at(r.json()["reported_at"])
        # Late report: release due an hour after it, so its 60 min reminder is due at once.
        assert _at(release["due_at"]) == reported + timedelta(hours=1)

        async def reminded() -> bool:
            return (await _firings(db))[("obligation.reminder", release["id"], "60m")] == 1

        await _until(reminded)
        first.kill()

        # Down for an hour and two minutes: the 30 and 10 min reminders and the breach
        # fell due meanwhile.
        down = 3600 + 120
        second = Server(url, log, offset=down)
        servers.append(second)
        await second.ready()

        async def breached() -> bool:
            return (await _firings(db))[("obligation.breached", release["id"], "")] == 1

        await _until(breached)
        async with db.read() as session:
            spent = {
                t.name: t
                for t in (
                    await session.execute(
                        select(ObligationTimer).where(
                            ObligationTimer.obligation_id == release["id"]
                        )
                    )
                ).scalars()
            }
        for name, before_due in (("30m", 1800), ("10m", 600), ("breach", 0)):
            late = spent[name].late_seconds
            assert late is not None
            # Late by the downtime past its moment, give or take the restart itself.
            assert before_due + 100 < late < before_due + 180, (name, late)
        second.kill()

        # Killed again and back a day later: the conference clock ran out meanwhile, and
        # nothing of the release is fired a second time.
        third = Server(url, log, offset=25 * 3600)
        servers.append(third)
        await third.ready()

        async def conference_breached() -> bool:
            return (await _firings(db))[("obligation.breached", conference["id"], "")] == 1

        await _until(conference_breached)
        await asyncio.sleep(1.5)  # a refresh or two more: nothing else may fire
        counts = await _firings(db)
        assert set(counts.values()) == {1}
        for obligation_id in (release["id"], conference["id"]):
            assert {
                k[2] for k in counts if k[0] == "obligation.reminder" and k[1] == obligation_id
            } == {
                "60m",
                "30m",
                "10m",
            }
            assert counts[("escalation.raised", obligation_id, "")] == 1
        async with db.read() as session:
            records = (await session.execute(select(AccountabilityRecord))).scalars().all()
        assert sorted(r.kind for r in records) == ["first_release", "press_conference"]
    finally:
        await db.dispose()


async def test_two_servers_on_one_postgresql_fire_every_reminder_and_breach_once(
    tmp_path: Path, servers: list[Server]
) -> None:
    need_postgres()
    db = await _prepare(PG_URL)
    log = tmp_path / "servers.log"
    n = 30
    try:
        # Thirty obligations opened two hours ago: their reminders are overdue at start,
        # their breaches fall due over the next 8-20 s.
        start = datetime.now(UTC)
        async with db.write() as session:
            for i in range(n):
                spec = rules.ObligationSpec(
                    kind=rules.ObligationKind.first_release,
                    due_at=start + timedelta(seconds=8 + i * 0.4),
                    article="Art. 23",
                    scale=rules.Scale.hours,
                    reason="two-server test",
                )
                await flow.open_obligation(
                    session,
                    spec,
                    org_id="dept-emergency_management",
                    division_codes=["520000"],
                    at=start - timedelta(hours=2),
                )
        a, b = Server(PG_URL, log), Server(PG_URL, log)
        servers += [a, b]
        await asyncio.gather(a.ready(), b.ready())

        async def some_breached() -> bool:
            counts = await _firings(db)
            return sum(1 for k in counts if k[0] == "obligation.breached") >= 5

        await _until(some_breached)
        async with db.read() as session:
            lease = await session.get(SchedulerLease, "obligations")
            assert lease is not None
            leader_pid = int(lease.holder.split(":")[1])
        leader, follower = (a, b) if a.proc.pid == leader_pid else (b, a)
        assert follower.proc.pid != leader_pid
        leader.kill()  # mid-way: the follower must take over the rest

        async def all_breached() -> bool:
            counts = await _firings(db)
            return sum(1 for k in counts if k[0] == "obligation.breached") == n

        await _until(all_breached, within=30)
        await asyncio.sleep(1.5)
        counts = await _firings(db)
        assert set(counts.values()) == {1}
        assert Counter(k[0] for k in counts) == {
            "obligation.reminder": 3 * n,
            "obligation.breached": n,
            "escalation.raised": n,
        }
        async with db.read() as session:
            fired_by = Counter(
                (
                    await session.execute(
                        select(ObligationTimer.fired_by).where(ObligationTimer.outcome == "fired")
                    )
                ).scalars()
            )
        # Both instances fired (one before the kill, the other after), never the same timer.
        assert len(fired_by) == 2
        assert sum(fired_by.values()) == 4 * n
        status = await follower.ready()
        assert status["role"] == "leader"
    finally:
        await db.dispose()
