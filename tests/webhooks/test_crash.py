"""Fabu killed with SIGKILL in the middle of deliveries: after a restart every event arrives."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import directory
from app.clock import SystemClock
from app.db import Database
from app.workflows import tokens as tokens_wf
from tests.conftest import reset_schema
from tests.webhooks.receiver import Answer, Receiver, free_port

pytestmark = pytest.mark.slow

# The real service, with a short claim lease so that deliveries in flight when it died
# fall due again within seconds (the default, 30 s, only makes the test wait longer).
LAUNCHER = """
import sys
from datetime import timedelta

import uvicorn

from app.main import create_app
from app.publishing import worker

worker.CLAIM_LEASE = timedelta(seconds=3)
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


class Fabu:
    def __init__(self, tmp: Path, db_url: str) -> None:
        self.base = ""
        self.script = tmp / "serve.py"
        self.script.write_text(LAUNCHER)
        self.log = tmp / "fabu.log"
        self.env = {
            **os.environ,
            "FABU_DATABASE_URL": db_url,
            "FABU_DELIVERY_ENABLED": "true",
            "FABU_ALLOW_PRIVATE_WEBHOOKS": "true",
            "FABU_SCHEDULER_ENABLED": "false",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # A fresh port each time: the old one may be taken by someone else meanwhile.
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(self.script), str(port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[2],
            )
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "Fabu did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


OPEN = threading.Event()


@pytest.fixture
def slow_receiver() -> Iterator[Receiver]:
    """A publisher taking its time, and holding every request until the test opens it, so
    that deliveries are still in flight when Fabu is killed."""

    def answer(_path: str) -> Answer:
        OPEN.wait(timeout=60)
        time.sleep(0.1)
        return 200, {}, b"ok"

    OPEN.clear()
    r = Receiver(answer=answer)
    r.start()
    yield r
    OPEN.set()
    r.stop()


async def _prepare(db_url: str) -> tuple[str, str]:
    db = Database(db_url)
    try:
        async with db.write() as session:
            await directory.seed(session)
            admin, reporter = [
                (
                    await tokens_wf.issue(
                        session,
                        org_id="gov-520000",
                        roles=[role],
                        name=role,
                        clock=SystemClock(),
                        actor=None,
                    )
                )[1]
                for role in ("admin", "reporter")
            ]
        return admin, reporter
    finally:
        await db.dispose()


def _events_after(db_file: Path, seq: int) -> set[str]:
    with sqlite3.connect(db_file) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM events WHERE seq > ?", (seq,))}


def _delivery_statuses(db_file: Path) -> dict[str, int]:
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")
        return dict(rows.fetchall())


async def test_killed_mid_delivery_every_event_arrives_after_restart(
    tmp_path: Path, slow_receiver: Receiver
) -> None:
    db_file = tmp_path / "fabu.db"
    db_url = f"sqlite+aiosqlite:///{db_file}"
    reset_schema(db_url)
    admin_token, reporter_token = await _prepare(db_url)
    admin = {"Authorization": f"Bearer {admin_token}"}
    reporter = {"Authorization": f"Bearer {reporter_token}"}
    fabu = Fabu(tmp_path, db_url)
    await asyncio.to_thread(fabu.start)
    try:
        async with httpx.AsyncClient(base_url=fabu.base, timeout=10) as client:
            created = await client.post(
                "/api/v1/webhooks",
                headers=admin,
                json={"url": slow_receiver.url("/all"), "channel": "generic", "event_types": ["*"]},
            )
            assert created.status_code == 201, created.text
            slow_receiver.secrets["/all"] = created.json()["secret"]
            with sqlite3.connect(db_file) as conn:
                (after_seq,) = conn.execute("SELECT max(seq) FROM events").fetchone()
            after_seq = after_seq or 0

            for n in range(60):
                response = await client.post(
                    "/api/v1/incidents",
                    headers=reporter,
                    json={
                        "category": "accident",
                        "subtype": "mining",
                        "title": f"第{n}起透水事故",
                        "occurred_at": "2026-01-01T00:00:00Z",
                        "division_codes": ["520281"],
                        "figures": {"trapped": 2},
                    },
                )
                assert response.status_code == 201, response.text

        expected = _events_after(db_file, after_seq)
        assert len(expected) >= 60
        OPEN.set()
        deadline = time.monotonic() + 20
        while len(slow_receiver.ids("/all")) < 15:
            assert time.monotonic() < deadline, fabu.log.read_text()
            await asyncio.sleep(0.02)
        fabu.kill()
        at_kill = slow_receiver.ids("/all")
        assert len(at_kill) < len(expected), f"all {len(expected)} were delivered before the kill"
        statuses = _delivery_statuses(db_file)
        assert statuses.get("pending", 0) > 0, statuses

        await asyncio.to_thread(fabu.start)
        # Done when the receiver has seen every event and Fabu knows it: those in flight at
        # the kill were seen but never recorded, so they go out again once their claim
        # lapses.
        deadline = time.monotonic() + 25
        while not (
            expected <= slow_receiver.ids("/all")
            and _delivery_statuses(db_file) == {"delivered": len(expected)}
        ):
            assert time.monotonic() < deadline, (
                f"{len(expected - slow_receiver.ids('/all'))} events never arrived; "
                f"deliveries {_delivery_statuses(db_file)}"
            )
            await asyncio.sleep(0.1)
    finally:
        fabu.terminate()

    received = slow_receiver.at("/all")
    assert all(r.verified for r in received), {r.error for r in received}
    assert {r.webhook_id for r in received} == expected  # every one, at least once
    # Those in flight when it died were sent again: receivers dedupe by webhook-id.
    assert len(received) > len(expected)
    print(f"{len(expected)} events, {len(at_kill)} received before the kill, {len(received)} sent")
    assert {r.body["seq"] for r in received} == {
        seq
        for (seq,) in sqlite3.connect(db_file).execute(
            "SELECT seq FROM events WHERE seq > ?", (after_seq,)
        )
    }
    assert _delivery_statuses(db_file) == {"delivered": len(expected)}
