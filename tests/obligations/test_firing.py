"""The scheduler's guarantees: once and only once, late but never lost, one leader."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from app import metrics
from app.clock import ManualClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models import AuditEntry, Event, ObligationTimer
from app.runtime import Runtime
from app.scheduler import lease
from app.scheduler.firing import FireReport, _fire_batch, fire_due, sweep
from app.scheduler.service import SchedulerService
from tests.conftest import T0
from tests.obligations.conftest import Scenario, events, obligation_row, timers, utc

FIRING_EVENTS = ("obligation.reminder", "obligation.breached", "escalation.raised")


async def _fired_events(db: Database) -> list[Event]:
    async with db.read() as session:
        rows = await session.execute(
            select(Event).where(Event.type.in_(FIRING_EVENTS)).order_by(Event.seq)
        )
        return list(rows.scalars())


def _keys(rows: list[Event]) -> Counter[tuple[str, str, str]]:
    """One key per firing: (event type, obligation, reminder name or '')."""
    return Counter(
        (e.type, e.data.get("id") or e.data.get("obligation_id"), e.data.get("reminder", ""))
        for e in rows
    )


async def _major_accidents(scenario: Scenario, n: int) -> None:
    for i in range(n):
        await scenario.report(
            title=f"Accident {i}",
            occurred_at=T0 - timedelta(minutes=30 + i),
            figures={"deaths": 10},
        )


async def test_two_schedulers_firing_at_once_write_each_reminder_and_breach_once(
    scenario: Scenario, settings: Settings
) -> None:
    await _major_accidents(scenario, 8)
    scenario.clock.set(T0 + timedelta(days=2))  # every clock of all eight has run out
    other = Database(settings.database_url)
    try:
        a, b = await asyncio.gather(
            fire_due(scenario.db, scenario.clock, limit=5, holder="a"),
            fire_due(other, scenario.clock, limit=5, holder="b"),
        )
    finally:
        await other.dispose()
    # 8 incidents x 2 obligations x (3 reminders + 1 breach)
    assert a.fired + b.fired == 8 * 2 * 4
    assert a.breaches + b.breaches == 16
    counts = _keys(await _fired_events(scenario.db))
    assert sum(counts.values()) == 8 * 2 * 4 + 16  # each breach also escalates
    assert set(counts.values()) == {1}
    # Each breach is on the record, linked to its own `obligation.breached` event.
    fired = await _fired_events(scenario.db)
    breached = {e.seq: e.data["id"] for e in fired if e.type == "obligation.breached"}
    async with scenario.db.read() as session:
        entries = (
            await session.execute(
                select(AuditEntry.event_seq, AuditEntry.entity_id).where(
                    AuditEntry.action == "obligation.breach"
                )
            )
        ).all()
    assert len(entries) == 16
    assert all(breached.get(seq) == entity_id for seq, entity_id in entries)
    assert (await fire_due(scenario.db, scenario.clock)).fired == 0


async def test_what_fell_due_while_the_service_was_down_fires_at_once_marked_late(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    first = await scenario.obligation(incident["id"], "first_release")
    # Down from before the first reminder until 05:00, half an hour after the due time.
    report = await scenario.at(utc("2026-11-27T05:00:00Z"))
    assert (report.reminders, report.breaches, report.late) == (3, 1, 4)
    assert report.max_late_seconds == 90 * 60
    sent = await events(scenario.db, "obligation.reminder", id=first["id"])
    assert [(e.data["reminder"], e.data["late"], e.data["late_seconds"]) for e in sent] == [
        ("60m", True, 5400.0),
        ("30m", True, 3600.0),
        ("10m", True, 2400.0),
    ]
    (breached,) = await events(scenario.db, "obligation.breached", id=first["id"])
    assert (breached.data["late"], breached.data["late_seconds"]) == (True, 1800.0)
    assert breached.at == utc("2026-11-27T05:00:00Z")
    row = await obligation_row(scenario.db, first["id"])
    # The breach is recorded when it was noticed; the lateness says how late that was.
    assert row.breached_at == utc("2026-11-27T05:00:00Z")
    spent = {t.name: (t.outcome, t.late_seconds) for t in await timers(scenario.db, first["id"])}
    assert spent == {
        "60m": ("fired", 5400.0),
        "30m": ("fired", 3600.0),
        "10m": ("fired", 2400.0),
        "breach": ("fired", 1800.0),
    }
    assert (await scenario.at(utc("2026-11-27T06:00:00Z"))).fired == 0


async def test_a_batch_rolled_back_fires_again_in_full(scenario: Scenario) -> None:
    """A process killed mid-batch commits nothing of it: the next run fires all of it."""
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    first = await scenario.obligation(incident["id"], "first_release")
    scenario.clock.set(utc("2026-11-27T05:00:00Z"))

    class Killed(Exception):
        pass

    dying = FireReport()
    with pytest.raises(Killed):
        async with scenario.db.write() as session:
            await _fire_batch(session, scenario.clock.now(), 100, "dying", 1.0, dying, [])
            raise Killed
    # It had fired the lot inside its transaction, and none of it stayed.
    assert (dying.reminders, dying.breaches) == (3, 1)
    assert await events(scenario.db, "obligation.reminder", id=first["id"]) == []
    assert (await obligation_row(scenario.db, first["id"])).status == "pending"
    report = await fire_due(scenario.db, scenario.clock)
    assert (report.reminders, report.breaches) == (3, 1)


async def test_the_safety_net_breaches_an_overdue_obligation_whose_timer_was_lost(
    scenario: Scenario,
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    first = await scenario.obligation(incident["id"], "first_release")
    async with scenario.db.write() as session:
        await session.execute(
            update(ObligationTimer)
            .where(ObligationTimer.obligation_id == first["id"], ObligationTimer.name == "breach")
            .values(fired_at=T0, outcome="lost")
        )
    scenario.clock.set(utc("2026-11-27T04:30:00Z"))
    # The ordinary path has nothing to fire for it any more.
    assert (await fire_due(scenario.db, scenario.clock)).breaches == 0
    # Within the grace the safety net leaves it to the ordinary path.
    scenario.clock.set(utc("2026-11-27T04:30:04Z"))
    assert (await sweep(scenario.db, scenario.clock)).found == 0
    scenario.clock.set(utc("2026-11-27T04:31:00Z"))
    found = await sweep(scenario.db, scenario.clock)
    assert (found.found, found.rearmed, found.fired.breaches) == (1, 1, 1)
    row = await obligation_row(scenario.db, first["id"])
    assert row.status == "breached"
    (breached,) = await events(scenario.db, "obligation.breached", id=first["id"])
    assert breached.data["late_seconds"] == 60.0
    assert (await sweep(scenario.db, scenario.clock)).found == 0


async def test_one_lease_holder_at_a_time_and_a_takeover_when_it_stops_renewing(
    db: Database, clock: ManualClock
) -> None:
    ttl = timedelta(seconds=15)
    assert await lease.claim(db, "obligations", "a", now=clock.now(), ttl=ttl)
    assert not await lease.claim(db, "obligations", "b", now=clock.now(), ttl=ttl)
    clock.advance(seconds=10)
    assert await lease.claim(db, "obligations", "a", now=clock.now(), ttl=ttl)  # renewed
    clock.advance(seconds=14)
    assert not await lease.claim(db, "obligations", "b", now=clock.now(), ttl=ttl)
    clock.advance(seconds=1)  # a stopped renewing 15 s ago
    assert await lease.claim(db, "obligations", "b", now=clock.now(), ttl=ttl)
    assert not await lease.claim(db, "obligations", "a", now=clock.now(), ttl=ttl)
    state = await lease.current(db, "obligations")
    assert state is not None
    assert (state.holder, state.acquired_at) == ("b", clock.now())
    # A clean stop hands over at once.
    await lease.release(db, "obligations", "b", now=clock.now())
    assert await lease.claim(db, "obligations", "a", now=clock.now(), ttl=ttl)


async def _until(check, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for the running service to do its work (not for a deadline: the clock is manual)."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "the scheduler did not get to it"
        await asyncio.sleep(0.05)


@pytest.mark.slow  # runs the real service (APScheduler) and watches it work
async def test_the_service_fires_what_is_due_and_reports_its_health_on_readyz(
    scenario: Scenario, settings: Settings
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(hours=5), figures={"deaths": 10})
    first = await scenario.obligation(incident["id"], "first_release")
    assert first["due_at"] == "2026-11-27T03:00:00Z"  # reported late: its 60 min reminder is due
    live = settings.model_copy(update={"scheduler_enabled": True})
    rt = Runtime(settings=live, db=scenario.db, clock=scenario.clock)
    leader = SchedulerService(rt, holder="leader")
    follower = SchedulerService(rt, holder="follower")
    app = create_app(live, clock=scenario.clock, db=scenario.db, start_services=False)
    app.state.runtime.services["scheduler"] = leader
    await leader.start()
    await follower.start()
    try:
        assert (leader.role, follower.role) == ("leader", "follower")

        async def reminded() -> bool:
            return len(await events(scenario.db, "obligation.reminder", id=first["id"])) == 1

        await _until(reminded)
        assert leader.next_fire_at == utc("2026-11-27T02:30:00Z")

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as client:
            r = await client.get("/readyz")
            assert r.status_code == 200, r.text
            status = r.json()["checks"]["scheduler"]
            assert (status["role"], status["lag_seconds"], status["ok"]) == ("leader", 0.0, True)

            # The clock jumps past the due time: the next refresh fires it.
            scenario.clock.set(utc("2026-11-27T03:00:00Z"))

            async def breached() -> bool:
                return (await obligation_row(scenario.db, first["id"])).status == "breached"

            await _until(breached)

            async def settled() -> bool:
                # The firing run commits, then records its report (a tick): let it end first.
                fired = leader.last_fire is not None and leader.last_fire["breaches"] >= 1
                return fired and not leader._fire_lock.locked()

            await _until(settled)

            # A loop that stopped ticking makes the instance unready.
            assert leader.scheduler is not None
            leader.scheduler.pause()
            leader.last_tick = time.time() - live.scheduler_stale_seconds - 1
            r = await client.get("/readyz")
            assert r.status_code == 503
            assert r.json()["checks"]["scheduler"]["ok"] is False
    finally:
        await leader.stop()
    # The leader gave the lease up on stopping: the follower takes over at its next tick.
    try:
        await follower._lease_tick()
        assert follower.role == "leader"
    finally:
        await follower.stop()
    assert len(await events(scenario.db, "obligation.breached", id=first["id"])) == 1


@pytest.mark.slow  # runs the real service (APScheduler)
async def test_the_safety_net_job_counts_what_it_finds(
    scenario: Scenario, settings: Settings
) -> None:
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    first = await scenario.obligation(incident["id"], "first_release")
    async with scenario.db.write() as session:
        await session.execute(
            update(ObligationTimer)
            .where(ObligationTimer.obligation_id == first["id"])
            .values(fired_at=T0, outcome="lost")
        )
    live = settings.model_copy(update={"scheduler_enabled": True})
    service = SchedulerService(Runtime(settings=live, db=scenario.db, clock=scenario.clock))
    await service.start()
    try:
        before = metrics.value("fabu_scheduler_safety_net_total")
        scenario.clock.set(utc("2026-11-27T05:00:00Z"))
        await service._safety_net()
        assert metrics.value("fabu_scheduler_safety_net_total") == before + 1
        assert (await obligation_row(scenario.db, first["id"])).status == "breached"
    finally:
        await service.stop()


async def test_readyz_reports_the_age_of_the_oldest_due_timer_and_fails_once_it_is_stale(
    scenario: Scenario, settings: Settings
) -> None:
    """A loop that still ticks but no longer fires (a stuck batch) is caught by its lag."""
    incident = await scenario.report(occurred_at=T0 - timedelta(minutes=30), figures={"deaths": 10})
    first = await scenario.obligation(incident["id"], "first_release")
    assert first["due_at"] == "2026-11-27T04:30:00Z"  # its 60 min reminder is due at 03:30:00
    live = settings.model_copy(update={"scheduler_enabled": True})
    assert live.scheduler_stale_seconds == 90
    # Never started: it fires nothing, so the due reminder waits as long as the clock says.
    stuck = SchedulerService(Runtime(settings=live, db=scenario.db, clock=scenario.clock))
    app = create_app(live, clock=scenario.clock, db=scenario.db, start_services=False)
    app.state.runtime.services["scheduler"] = stuck
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as client:

        async def scheduler_check(at: str) -> tuple[int, dict[str, object]]:
            scenario.clock.set(utc(at))
            stuck.last_tick = time.time()  # the loop itself is alive
            r = await client.get("/readyz")
            return r.status_code, r.json()["checks"]["scheduler"]

        code, status = await scheduler_check("2026-11-27T03:29:59Z")
        assert (code, status["lag_seconds"], status["oldest_due_fire_at"]) == (200, 0.0, None)
        code, status = await scheduler_check("2026-11-27T03:31:30Z")
        assert (code, status["lag_seconds"], status["ok"]) == (200, 90.0, True)
        assert status["oldest_due_fire_at"] == "2026-11-27T03:30:00Z"
        code, status = await scheduler_check("2026-11-27T03:31:31Z")
        assert (code, status["lag_seconds"], status["ok"]) == (503, 91.0, False)
        assert status["problems"] == ["a due timer has waited 91 s"]
    # Once it is fired, the lag is gone and the instance is ready again.
    await fire_due(scenario.db, scenario.clock)
    assert (await stuck.health())["lag_seconds"] == 0.0
