"""bench/timers: the obligation scheduler with 100,000 pending obligations.

Measures, on a temporary SQLite database:
- start-up: how long the scheduler service takes from start() to armed (lease claimed,
  next due timer found), and the memory that costs (RSS delta; tracemalloc peak in a
  second, untimed start);
- firing lateness p50/p99/max when 1,000 obligations fall due in the same second (their
  breaches: status, event, escalation, Art. 39 record each), measured from the due moment
  to the commit that made each event visible;
and beside it, in the same run, APScheduler's own SQLAlchemyJobStore (temporary SQLite)
holding the same 100,000 jobs: time to add them, time to start (it writes each job, one
INSERT and commit apiece), and after a restart the time to start and to list them
(unpickling every job). Targets: load under 5 s, lateness p99 under 1 s.

Both databases go to /dev/shm when it exists, so that neither pays for fsync and the
baseline finishes in about a minute (on a disk it takes several).

    .venv/bin/python -m bench.timers [--n 100000] [--burst 1000] [--baseline-jobs 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import shutil
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import create_engine, event, func, select

from app import directory
from app.clock import SystemClock
from app.config import Settings
from app.db import Database, sync_url
from app.ids import new_id
from app.models import Base, Event, Obligation, ObligationTimer
from app.runtime import Runtime
from app.scheduler.firing import next_fire_at
from app.scheduler.service import SchedulerService
from bench._util import percentile

CHUNK = 10_000


async def noop() -> None:
    """The baseline's job function (referenced by name in its pickles)."""


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _obligation(i: int, org: str, division: str, due: datetime, now: datetime) -> dict[str, Any]:
    return {
        "id": f"obl_bench{i:08d}",
        "kind": "first_release",
        "incident_id": None,
        "subject_type": "bench",
        "subject_id": str(i),
        "org_id": org,
        "division_code": division,
        "article": "Art. 23",
        "scale": "hours",
        "created_at": now,
        "due_at": due,
        "due_reason": "bench",
        "status": "pending",
        "calendar_estimated": False,
        "accountable": True,
    }


def populate(url: str, n: int, now: datetime) -> float:
    """n pending obligations due from 2 h to ~23 days ahead, each with 3 reminders and a
    breach timer (bulk inserts: the workflow would write an event per row)."""
    started = time.perf_counter()
    engine = create_engine(sync_url(url))
    orgs = [
        (o.id, o.division_code)
        for o in directory.directory_rows()[1]
        if o.kind == "government" and o.division_code != "520000"
    ]
    with engine.begin() as conn:
        for lo in range(0, n, CHUNK):
            obligations, timers = [], []
            for i in range(lo, min(n, lo + CHUNK)):
                org, division = orgs[i % len(orgs)]
                due = now + timedelta(hours=2, seconds=20 * i)
                obligations.append(_obligation(i, org, division, due, now))
                for name, before in (("60m", 60), ("30m", 30), ("10m", 10), ("breach", 0)):
                    timers.append(
                        {
                            "id": f"tmr_bench{i:08d}{name}",
                            "obligation_id": f"obl_bench{i:08d}",
                            "name": name,
                            "fire_at": due - timedelta(minutes=before),
                        }
                    )
            conn.execute(Obligation.__table__.insert(), obligations)
            conn.execute(ObligationTimer.__table__.insert(), timers)
    engine.dispose()
    return time.perf_counter() - started


def add_burst(url: str, burst: int, at: datetime, now: datetime) -> None:
    """`burst` obligations due in the same second, `at`; their reminders already went out."""
    engine = create_engine(sync_url(url))
    orgs = [o.id for o in directory.directory_rows()[1] if o.kind == "department"]
    with engine.begin() as conn:
        obligations, timers = [], []
        for i in range(burst):
            oid = f"obl_burst{i:06d}"
            row = _obligation(i, orgs[i % len(orgs)], "520000", at, now - timedelta(hours=2))
            row.update(id=oid, subject_type="burst")
            obligations.append(row)
            for name, before in (("60m", 60), ("30m", 30), ("10m", 10)):
                timers.append(
                    {
                        "id": new_id("tmr"),
                        "obligation_id": oid,
                        "name": name,
                        "fire_at": at - timedelta(minutes=before),
                        "fired_at": at - timedelta(minutes=before),
                        "late_seconds": 0.0,
                        "outcome": "fired",
                    }
                )
            # Spread within the second, as due times from real reports would be.
            timers.append(
                {
                    "id": new_id("tmr"),
                    "obligation_id": oid,
                    "name": "breach",
                    "fire_at": at + timedelta(microseconds=i * 997 % 1_000_000),
                    "fired_at": None,
                    "late_seconds": None,
                    "outcome": None,
                }
            )
        conn.execute(Obligation.__table__.insert(), obligations)
        conn.execute(ObligationTimer.__table__.insert(), timers)
    engine.dispose()


async def bench_service(url: str, n: int, burst: int) -> dict[str, float]:
    out: dict[str, float] = {}
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
    engine.dispose()
    db = Database(url)
    async with db.write() as session:
        await directory.seed(session)
    now = datetime.now(UTC)
    out["populate_s"] = populate(url, n, now)
    burst_at = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    add_burst(url, burst, burst_at, now)
    pending_total = n + burst

    async with db.read() as session:
        t = time.perf_counter()
        count = (
            await session.execute(
                select(func.count()).select_from(Obligation).where(Obligation.status == "pending")
            )
        ).scalar_one()
        out["count_pending_s"] = time.perf_counter() - t
        assert count == pending_total, count
        t = time.perf_counter()
        for _ in range(100):
            await next_fire_at(session)
        out["next_due_query_ms"] = (time.perf_counter() - t) * 10

    settings = Settings(database_url=url, scheduler_enabled=True, delivery_enabled=False)
    gc.collect()
    rss_before = rss_mb()
    service = SchedulerService(Runtime(settings=settings, db=db, clock=SystemClock()))
    t = time.perf_counter()
    await service.start()
    out["load_s"] = time.perf_counter() - t
    out["load_rss_mb"] = rss_mb() - rss_before
    assert service.leader and service.next_fire_at is not None

    # Wait for the burst (not a test: a benchmark watches the real clock).
    for _ in range(1200):  # up to a minute
        if len(service.lateness) >= burst:
            break
        await asyncio.sleep(0.05)
    lateness = sorted(service.lateness)
    await service.stop()
    async with db.read() as session:
        breached = (
            await session.execute(
                select(func.count()).select_from(Event).where(Event.type == "obligation.breached")
            )
        ).scalar_one()
    out["burst_fired"] = len(lateness)
    out["burst_breached_events"] = breached
    out["lateness_p50_s"] = percentile(lateness, 50)
    out["lateness_p99_s"] = percentile(lateness, 99)
    out["lateness_max_s"] = lateness[-1] if lateness else float("nan")

    # Memory of a start, traced (untimed: tracemalloc slows Python down).
    tracemalloc.start()
    again = SchedulerService(Runtime(settings=settings, db=db, clock=SystemClock()))
    await again.start()
    out["load_tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    await again.stop()
    await db.dispose()
    return out


def bench_apscheduler(path: Path, jobs: int) -> dict[str, float]:
    """APScheduler 3's SQLAlchemyJobStore holding the same number of jobs."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    out: dict[str, float] = {}
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _fast(conn: Any, _record: Any) -> None:
        # As kind to the baseline as we are to ourselves: WAL, no fsync per commit.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")

    async def run() -> None:
        now = datetime.now(UTC)
        gc.collect()
        rss_before = rss_mb()
        scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine)}, timezone=UTC
        )
        t = time.perf_counter()
        for i in range(jobs):
            scheduler.add_job(
                noop,
                "date",
                run_date=now + timedelta(hours=2, seconds=20 * i),
                id=f"obl_bench{i:08d}:breach",
                misfire_grace_time=None,
                coalesce=True,
            )
        out["add_s"] = time.perf_counter() - t  # held in memory until start
        t = time.perf_counter()
        scheduler.start()  # now each job is pickled and inserted, one commit apiece
        out["start_s"] = time.perf_counter() - t
        out["rss_mb"] = rss_mb() - rss_before
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)

        restarted = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine)}, timezone=UTC
        )
        t = time.perf_counter()
        restarted.start()
        out["restart_start_s"] = time.perf_counter() - t
        t = time.perf_counter()
        listed = restarted.get_jobs()
        out["restart_list_jobs_s"] = time.perf_counter() - t
        assert len(listed) == jobs
        restarted.shutdown(wait=False)
        await asyncio.sleep(0)

    asyncio.run(run())
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="pending obligations")
    parser.add_argument("--burst", type=int, default=1_000, help="falling due in one second")
    parser.add_argument("--baseline-jobs", type=int, default=100_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    workdir = Path(tempfile.mkdtemp(prefix="fabu-bench-", dir=base))
    try:
        url = f"sqlite+aiosqlite:///{workdir / 'fabu.db'}"
        print(f"bench/timers: {args.n:,} pending + {args.burst:,} due in one second, {workdir}")
        ours = asyncio.run(bench_service(url, args.n, args.burst))
        size_mb = (workdir / "fabu.db").stat().st_size / 2**20
        print(
            f"  setup       bulk insert {args.n:,} obligations, {4 * args.n:,} timers: "
            f"{ours['populate_s']:.1f} s (db {size_mb:.0f} MB)"
        )
        print(
            f"  queries     next due timer (partial index): {ours['next_due_query_ms']:.2f} ms; "
            f"count pending obligations: {ours['count_pending_s'] * 1000:.0f} ms"
        )
        print(
            f"  load        start() to armed: {ours['load_s']:.3f} s (target < 5 s); "
            f"RSS +{ours['load_rss_mb']:.1f} MB; "
            f"tracemalloc peak {ours['load_tracemalloc_peak_mb']:.2f} MB"
        )
        print(
            f"  burst       {int(ours['burst_fired']):,} breaches fired "
            f"({int(ours['burst_breached_events']):,} obligation.breached events): lateness "
            f"p50 {ours['lateness_p50_s']:.3f} s, p99 {ours['lateness_p99_s']:.3f} s "
            f"(target < 1 s), max {ours['lateness_max_s']:.3f} s"
        )
        print(f"baseline: APScheduler 3 SQLAlchemyJobStore, {args.baseline_jobs:,} date jobs")
        theirs = bench_apscheduler(workdir / "apscheduler.db", args.baseline_jobs)
        print(
            f"  add         {theirs['add_s']:.1f} s (in memory until start); "
            f"start (writes every job) {theirs['start_s']:.1f} s; RSS +{theirs['rss_mb']:.1f} MB"
        )
        print(
            f"  restart     start {theirs['restart_start_s']:.3f} s; "
            f"list the jobs (unpickles all) {theirs['restart_list_jobs_s']:.1f} s"
        )
        first_start = theirs["add_s"] + theirs["start_s"]
        print(
            f"ratio: first start with {args.n:,} pending: ours {ours['load_s']:.3f} s vs "
            f"baseline add+start {first_start:.1f} s ({first_start / ours['load_s']:,.0f}x); "
            f"memory: ours RSS +{ours['load_rss_mb']:.1f} MB vs +{theirs['rss_mb']:.1f} MB"
        )
        print(
            f"       restart: ours {ours['load_s']:.3f} s (lease, next due, overdue at once) vs "
            f"baseline start {theirs['restart_start_s']:.3f} s (reads nothing until its first "
            f"wakeup), {theirs['restart_list_jobs_s']:.1f} s to list its jobs"
        )
    finally:
        with contextlib.suppress(Exception):
            shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
