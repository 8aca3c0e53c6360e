"""The obligation scheduler: fires reminders and breaches from the obligation rows.

The database is the truth (RULES §3). This service holds no copy of the timers: APScheduler's
in-memory store holds ONE date job, set at the earliest unfired `fire_at` (an indexed MIN),
which fires everything due through `fire_due` and sets itself again. A commit that wrote
events on this instance pokes it, and a 1 s refresh picks up timers written by other
instances. A restart therefore loads nothing but that MIN: whatever fell due while the
service was down is due now, and fires at once, marked late.

Exactly one instance schedules: the holder of the `scheduler_leases` row, renewed every
third of `scheduler_lease_seconds`. Another instance takes over when the holder stops
renewing. Even if two ever fired together, the conditional update on each timer lets only
one of them write its event.

APScheduler 3 traps, avoided on purpose:
- Its default `misfire_grace_time` is 1 s: a job that runs late (a busy loop, a suspended
  VM, a catch-up after start) is silently dropped. Every job here sets it to None (run
  however late) with coalesce=True (several missed runs are one run).
- A date job whose previous run is still going is skipped as "maximum number of running
  instances reached" and, having no next run, removed: lost. The fire job therefore allows
  many instances and serialises them itself with a lock.
- SQLAlchemyJobStore pickles jobs into a table and is not safe to share between processes;
  we do not use it. The obligation rows are the only persistent state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import socket
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app import metrics
from app.clock import iso
from app.runtime import Runtime
from app.scheduler import firing, lease
from app.services import Service
from app.workflows import obligations as flow

logger = logging.getLogger("fabu.scheduler")

# How long a poke waits for the rest of a burst of commits before re-arming.
POKE_COALESCE_SECONDS = 0.1

LEASE_NAME = "obligations"
FIRE_JOB = "fire"
REFRESH_SECONDS = 1.0
# Re-set the date job only when its moment moves by more than this (the runtime clock
# jumped, or an earlier timer appeared); otherwise the 1 s refresh leaves it alone.
ARM_TOLERANCE_SECONDS = 0.05
# Every job: run however late, and a pile of missed runs is one run (see module docstring).
JOB_DEFAULTS: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}


def _holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SchedulerService:
    name = "scheduler"

    def __init__(self, rt: Runtime, *, holder: str | None = None) -> None:
        self.rt = rt
        settings = rt.settings
        self.holder = holder or _holder_id()
        self.lease_ttl = timedelta(seconds=settings.scheduler_lease_seconds)
        self.stale_seconds = settings.scheduler_stale_seconds
        self.batch = settings.scheduler_batch_size
        self.late_after = settings.scheduler_late_after_seconds
        self.leader = False
        self.lease_expires_at: datetime | None = None
        self.next_fire_at: datetime | None = None
        self.lag_seconds = 0.0
        self.last_tick: float | None = None  # wall clock (time.time()) of the last loop tick
        self.last_fire: dict[str, Any] | None = None
        # Lateness (seconds from due moment to the commit of its event) of recent firings.
        self.lateness: deque[float] = deque(maxlen=10_000)
        self.scheduler: AsyncIOScheduler | None = None
        self._fire_lock = asyncio.Lock()
        self._arm_lock = asyncio.Lock()
        self._armed_for: datetime | None = None
        self._poke_pending = False
        self._stopped = False
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": AsyncIOExecutor()},
            job_defaults=JOB_DEFAULTS,
            timezone=UTC,
        )
        self.scheduler.start()
        self.rt.db.on_commit(self.poke)
        metrics.gauge(
            "fabu_scheduler_lag_seconds",
            lambda: self.lag_seconds,
            "Age of the oldest unfired due obligation timer, as last seen.",
        )
        await self._lease_tick()
        lease_every = max(0.2, self.lease_ttl.total_seconds() / 3)
        self.scheduler.add_job(self._lease_tick, "interval", seconds=lease_every, id="lease")
        self.scheduler.add_job(self._refresh, "interval", seconds=REFRESH_SECONDS, id="refresh")
        self.scheduler.add_job(
            self._safety_net,
            "interval",
            seconds=self.rt.settings.scheduler_safety_net_seconds,
            id="safety_net",
        )
        logger.info("scheduler %s started as %s", self.holder, self.role)

    async def stop(self) -> None:
        self._stopped = True
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in list(self._tasks):
            task.cancel()
        # Let a running firing batch finish its transaction rather than cut it.
        async with self._fire_lock:
            pass
        if self.leader:
            self.leader = False
            with contextlib.suppress(Exception):
                await lease.release(self.rt.db, LEASE_NAME, self.holder, now=self.rt.clock.now())

    @property
    def role(self) -> str:
        return "leader" if self.leader else "follower"

    def _tick(self) -> None:
        self.last_tick = time.time()

    # -- leadership -----------------------------------------------------------------------

    async def _lease_tick(self) -> None:
        if self._stopped:
            return
        now = self.rt.clock.now()
        try:
            held = await lease.claim(
                self.rt.db, LEASE_NAME, self.holder, now=now, ttl=self.lease_ttl
            )
        except Exception:
            logger.exception("scheduler lease could not be renewed")
            # Without the database we cannot know; stop leading once our lease has run out.
            held = self.leader and self.lease_expires_at is not None and now < self.lease_expires_at
        else:
            if held:
                self.lease_expires_at = now + self.lease_ttl
        self._tick()
        if held and not self.leader:
            self.leader = True
            logger.info("scheduler %s is now the leader", self.holder)
            await self._open_routine()
            await self._arm()
        elif not held and self.leader:
            self.leader = False
            self._disarm()
            logger.warning("scheduler %s lost the lease; now a follower", self.holder)

    # -- arming the one date job ----------------------------------------------------------

    def poke(self) -> None:
        """A commit on this instance wrote events: obligations may have changed."""
        if self._stopped or not self.leader or self._poke_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._poke_pending = True
        task = loop.create_task(self._poked())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poked(self) -> None:
        # Commits come in bursts; one look at the next due time after a short pause serves
        # the whole burst. Obligations are hours or days long, so 0.1 s costs nothing.
        await asyncio.sleep(POKE_COALESCE_SECONDS)
        self._poke_pending = False
        await self._arm()

    async def _refresh(self) -> None:
        self._tick()
        if self.leader:
            await self._arm()

    async def _arm(self, *, retry_after: float | None = None) -> None:
        """Point the date job at the earliest unfired timer (or retry soon after a failure)."""
        if self._stopped or not self.leader or self.scheduler is None:
            return
        if self._fire_lock.locked() and retry_after is None:
            return  # firing (or the safety net) now; it re-arms when done
        async with self._arm_lock:
            try:
                async with self.rt.db.read() as session:
                    nxt = await firing.next_fire_at(session)
            except Exception:
                logger.exception("scheduler could not read the next due timer")
                nxt, retry_after = None, retry_after or REFRESH_SECONDS
            now = self.rt.clock.now()
            self.next_fire_at = nxt
            self.lag_seconds = max(0.0, (now - nxt).total_seconds()) if nxt else 0.0
            wall = datetime.now(UTC)
            if nxt is not None:
                # The runtime clock may differ from the wall clock (tests, replays): wait the
                # domain time remaining, on the wall clock APScheduler runs on.
                run_at = wall + max(timedelta(0), nxt - now)
            elif retry_after is not None:
                run_at = wall
            else:
                self._disarm()
                return
            if retry_after is not None:
                run_at = max(run_at, wall + timedelta(seconds=retry_after))
            job = self.scheduler.get_job(FIRE_JOB)
            if (
                job is not None
                and self._armed_for == nxt
                and retry_after is None
                and job.next_run_time is not None
                and abs((job.next_run_time - run_at).total_seconds()) < ARM_TOLERANCE_SECONDS
            ):
                return  # already set for that moment (the 1 s refresh usually ends here)
            self.scheduler.add_job(
                self._fire,
                "date",
                run_date=run_at,
                id=FIRE_JOB,
                replace_existing=True,
                # Re-armed while a run is still going: the lock in _fire serialises them.
                max_instances=1000,
            )
            self._armed_for = nxt

    def _disarm(self) -> None:
        self._armed_for = None
        if self.scheduler is not None:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(FIRE_JOB)

    async def _fire(self) -> None:
        if self._fire_lock.locked():
            return  # a run is going; it sets the next one when it ends
        failed = False
        async with self._fire_lock:
            if self._stopped or not self.leader:
                return
            try:
                report = await firing.fire_due(
                    self.rt.db,
                    self.rt.clock,
                    limit=self.batch,
                    holder=self.holder,
                    late_after=self.late_after,
                )
            except Exception:
                logger.exception("firing due obligation timers failed; retrying")
                failed = True
            else:
                self._record(report)
        self._armed_for = None
        await self._arm(retry_after=REFRESH_SECONDS if failed else None)

    def _record(self, report: firing.FireReport) -> None:
        self._tick()
        if not report.fired and not report.spent and not report.lost:
            return
        self.lateness.extend(report.lateness)
        self.last_fire = {
            "at": iso(datetime.now(UTC)),
            "reminders": report.reminders,
            "breaches": report.breaches,
            "late": report.late,
            "max_late_seconds": round(report.max_late_seconds, 3),
        }
        if report.reminders:
            metrics.inc("fabu_obligation_reminders_total", report.reminders)
        if report.breaches:
            metrics.inc("fabu_obligation_breaches_total", report.breaches)
        if report.late:
            metrics.inc("fabu_scheduler_late_firings_total", report.late)
            logger.warning(
                "fired %d timers late (up to %.1f s)", report.late, report.max_late_seconds
            )
        if report.lost:
            metrics.inc("fabu_scheduler_lost_races_total", report.lost)

    # -- safety net -------------------------------------------------------------------------

    async def _safety_net(self) -> None:
        self._tick()
        if self._stopped or not self.leader:
            return
        async with self._fire_lock:
            try:
                found = await firing.sweep(
                    self.rt.db, self.rt.clock, holder=self.holder, late_after=self.late_after
                )
            except Exception:
                logger.exception("scheduler safety net failed")
                return
            self._record(found.fired)
        if found.found:
            metrics.inc("fabu_scheduler_safety_net_total", found.found)
            logger.warning(
                "safety net found %d pending obligations past due (%d had lost their timer)",
                found.found,
                found.rearmed,
            )
        await self._open_routine()
        await self._arm()

    async def _open_routine(self) -> None:
        """Art. 29: the quarter's routine-conference obligations, opened once per quarter."""
        try:
            async with self.rt.db.write() as session:
                await flow.open_routine_conferences(session, self.rt.clock.now())
        except Exception:
            logger.exception("could not open the quarter's routine-conference obligations")

    # -- readiness --------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """For /readyz: stale when the loop has not ticked, or due timers wait, too long."""
        age = time.time() - self.last_tick if self.last_tick is not None else math.inf
        body: dict[str, Any] = {
            "role": self.role,
            "holder": self.holder,
            "last_tick_at": (
                iso(datetime.fromtimestamp(self.last_tick, UTC)) if self.last_tick else None
            ),
            "last_tick_age_seconds": round(age, 3) if math.isfinite(age) else None,
            "stale_after_seconds": self.stale_seconds,
            "next_fire_at": iso(self.next_fire_at) if self.leader else None,
            "last_fire": self.last_fire,
        }
        try:
            async with self.rt.db.read() as session:
                oldest = await firing.next_fire_at(session)
        except Exception as exc:
            body.update(ok=False, error=f"database: {type(exc).__name__}")
            return body
        now = self.rt.clock.now()
        lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        body["lag_seconds"] = round(lag, 3)
        body["oldest_due_fire_at"] = iso(oldest) if oldest is not None and lag > 0 else None
        problems = []
        if age > self.stale_seconds:
            problems.append(f"no tick for {age:.0f} s")
        if lag > self.stale_seconds:
            problems.append(f"a due timer has waited {lag:.0f} s")
        body["ok"] = not problems
        if problems:
            body["problems"] = problems
        return body


def factory(rt: Runtime) -> Service | None:
    if not rt.settings.scheduler_enabled:
        return None
    return SchedulerService(rt)
