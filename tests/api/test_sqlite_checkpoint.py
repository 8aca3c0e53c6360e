"""The WAL checkpoint thread: the log is copied back off the event loop and stays small."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from app.clock import ManualClock
from app.db import Database
from app.events import log
from app.models import Base
from app.sqlite_checkpoint import Checkpointer
from tests.conftest import T0


async def append_events(db: Database, count: int) -> None:
    async with db.write() as session:
        for i in range(count):
            await log.append(
                session,
                "incident.updated",
                at=ManualClock(T0).now(),
                data={"i": i, "pad": "x" * 500},
            )


def wal_size(wal: Path) -> int:
    return wal.stat().st_size


async def fresh_database(path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return db


async def test_a_checkpoint_lets_the_log_start_over_instead_of_growing(tmp_path: Path) -> None:
    path = tmp_path / "fabu.db"
    db = await fresh_database(path)
    wal = Path(f"{path}-wal")
    checkpointer = Checkpointer(str(path))
    own = sqlite3.connect(path)  # the checkpointer's connection, driven by hand
    try:
        await append_events(db, 300)
        grown = wal_size(wal)
        checkpointer.checkpoint(own)
        assert checkpointer.last_frames > 0 and checkpointer.last_error is None
        # Everything was copied back: the next writes reuse the log from its start.
        for _ in range(3):
            await append_events(db, 300)
            checkpointer.checkpoint(own)
        assert wal_size(wal) <= grown
        # And nothing was lost on the way.
        rows = own.execute("SELECT count(*) FROM events").fetchone()[0]
        assert rows == 1200
    finally:
        own.close()
        await db.dispose()


async def test_the_service_runs_on_its_own_thread_and_reports_its_health(tmp_path: Path) -> None:
    path = tmp_path / "fabu.db"
    db = await fresh_database(path)
    await append_events(db, 50)
    checkpointer = Checkpointer(str(path), interval=0.01)
    await checkpointer.start()
    try:
        deadline = time.monotonic() + 5
        while checkpointer.checkpoints == 0:
            assert time.monotonic() < deadline, "no checkpoint ran"
            await asyncio.sleep(0.01)
        health = await checkpointer.health()
        assert health["ok"] is True and health["last_error"] is None
    finally:
        await checkpointer.stop()
    assert (await checkpointer.health())["ok"] is False  # stopped: not running any more
    await db.dispose()
