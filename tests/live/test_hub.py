"""The hub's seam, in slow motion: commits landing exactly while a replay reads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.auth import Principal
from app.clock import ManualClock
from app.config import Settings
from app.db import Database
from app.events import log
from app.events.filters import Audience
from app.events.hub import Hub, Subscriber
from app.runtime import Runtime

PANZHOU = Principal(
    token_id=None,
    org_id="gov-520281",
    org_kind="government",
    division_code="520281",
    roles=frozenset({"viewer"}),
    jurisdiction=frozenset({"520281"}),
)


async def commit_event(db: Database, clock: ManualClock, name: str, code: str = "520281") -> int:
    async with db.write() as session:
        event = await log.append(
            session, "incident.updated", at=clock.now(), division_codes=[code], data={"name": name}
        )
    return event.seq


async def idle_hub(settings: Settings, db: Database, clock: ManualClock) -> Hub:
    """A hub whose reader is not running: the test decides when it reads the log."""
    hub = Hub(Runtime(settings=settings, db=db, clock=clock))
    hub.last_seq = await hub.tail()
    return hub


async def stream(hub: Hub, sub: Subscriber, after: int) -> list[int]:
    replayed = [json.loads(text)["seq"] async for page in hub.replay(sub, after) for text in page]
    return replayed


async def test_an_event_fanned_out_while_the_replay_was_reading_still_reaches_the_client(
    settings: Settings, db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await commit_event(db, clock, "before")
    hub = await idle_hub(settings, db, clock)
    sub = hub.subscribe(PANZHOU)
    real_read = log.read_after
    sneaked: list[int] = []

    async def racing_read(session: Any, after: int, limit: int) -> Any:
        rows = await real_read(session, after, limit)
        if not sneaked:
            # Committed after the replay's read, and fanned out by the hub at once,
            # before the replay decides to go live.
            sneaked.append(await commit_event(db, clock, "during"))
            await hub.drain()
        return rows

    monkeypatch.setattr(log, "read_after", racing_read)
    replayed = await stream(hub, sub, 0)
    queued = [seq for seq, _ in sub.take()]
    assert replayed + queued == [first, sneaked[0]]


async def test_an_event_the_replay_read_before_the_hub_is_not_sent_twice(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    hub = await idle_hub(settings, db, clock)
    sub = hub.subscribe(PANZHOU)
    one = await commit_event(db, clock, "one")  # committed, the hub has not read it yet
    replayed = await stream(hub, sub, 0)
    await hub.drain()  # now the hub reads and offers it: the client already has it
    three = await commit_event(db, clock, "three")
    await hub.drain()
    queued = [seq for seq, _ in sub.take()]
    assert replayed + queued == [one, three]


async def test_a_replay_longer_than_the_queue_does_not_overflow_it(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    hub = await idle_hub(settings.model_copy(update={"ws_queue_limit": 3}), db, clock)
    seqs = [await commit_event(db, clock, str(i)) for i in range(10)]
    sub = hub.subscribe(PANZHOU)
    assert await stream(hub, sub, 0) == seqs
    assert not sub.overflowed


def test_a_full_queue_stops_the_subscriber_instead_of_dropping_an_event() -> None:
    sub = Subscriber(PANZHOU, None, 2)  # type: ignore[arg-type]
    sub.go_live(0)
    sub.offer(1, "a")
    sub.offer(2, "b")
    assert not sub.overflowed
    sub.offer(3, "c")
    assert sub.overflowed
    assert sub.queued == 0
    sub.offer(4, "d")  # nothing more is queued for a subscriber that must go
    assert sub.queued == 0


def test_an_organ_sees_events_of_its_divisions_and_events_naming_it() -> None:
    panzhou = Audience.of(PANZHOU)
    assert panzhou.sees(["520281"], None)
    assert panzhou.sees(["520111", "520281"], None)
    assert not panzhou.sees(["520111"], None)
    assert panzhou.sees(["520111"], "gov-520281")
    assert not panzhou.sees([], None)


def test_the_server_pings_every_20_seconds_unless_configured_otherwise() -> None:
    # API.md, WS /live: "the server pings every 20 s" (the ping also carries the interval).
    assert Settings.model_fields["ws_ping_seconds"].default == 20.0
