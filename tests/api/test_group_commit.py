"""Group commit: writes that wait together share one transaction, and fail alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import group_commit
from app.db import Database
from app.group_commit import Work
from app.models import IdempotencyKey
from tests.api.helpers import INCIDENTS, PANZHOU, incident_body, stored_counts
from tests.conftest import T0, Api


def remember(key: str, seen: list[bool] | None = None) -> Work[str]:
    """A piece of work that stores one row and says whether it ran in a shared batch."""

    async def work(session: AsyncSession) -> str:
        if seen is not None:
            seen.append(group_commit.shared(session))
        session.add(
            IdempotencyKey(
                key=key, scope="test", request_hash="h", resource_id=f"r-{key}", created_at=T0
            )
        )
        return key

    return work


async def keys(db: Database) -> list[str]:
    async with db.read() as session:
        rows = await session.execute(
            select(IdempotencyKey.key).where(IdempotencyKey.scope == "test")
        )
        return sorted(rows.scalars())


async def test_work_queued_together_commits_in_one_transaction(db: Database) -> None:
    before = db.group_commit.batches
    seen: list[bool] = []
    results = await asyncio.gather(*(db.write_together(remember(f"k{i}", seen)) for i in range(5)))
    assert results == ["k0", "k1", "k2", "k3", "k4"]
    assert db.group_commit.batches == before + 1
    assert seen == [True] * 5
    assert await keys(db) == ["k0", "k1", "k2", "k3", "k4"]


async def test_a_failing_piece_fails_alone_and_leaves_nothing(db: Database) -> None:
    async def broken(session: AsyncSession) -> str:
        await remember("bad")(session)
        raise ValueError("refused")

    outcomes = await asyncio.gather(
        db.write_together(remember("a")),
        db.write_together(broken),
        db.write_together(remember("b")),
        return_exceptions=True,
    )
    assert outcomes[0] == "a" and outcomes[2] == "b"
    assert isinstance(outcomes[1], ValueError)
    assert await keys(db) == ["a", "b"]


async def test_a_duplicate_in_a_batch_is_redone_piece_by_piece(db: Database) -> None:
    seen: list[bool] = []
    outcomes = await asyncio.gather(
        db.write_together(remember("same", seen)),
        db.write_together(remember("other", seen)),
        db.write_together(remember("same", seen)),
        return_exceptions=True,
    )
    # Tried together first (the primary key refuses the batch), then each alone.
    assert seen == [True, True, True, False, False, False]
    assert outcomes[:2] == ["same", "other"]
    assert isinstance(outcomes[2], IntegrityError)
    assert await keys(db) == ["other", "same"]


async def test_a_caller_that_gives_up_does_not_stop_the_others(db: Database) -> None:
    first = asyncio.ensure_future(db.write_together(remember("left")))
    second = asyncio.ensure_future(db.write_together(remember("stayed")))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == "stayed"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await keys(db) == ["stayed"]


async def test_a_burst_of_intakes_is_stored_in_full(api: Api) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    before = await stored_counts(api.db)
    batches = api.db.group_commit.batches
    responses = await asyncio.gather(
        *(
            api.post(
                INCIDENTS,
                {**reporter, "Idempotency-Key": f"burst-{i}"},
                json=incident_body(title=f"第{i}号报告", figures={"deaths": i % 12}),
            )
            for i in range(24)
        )
    )
    assert [r.status_code for r in responses] == [201] * 24, [r.text for r in responses]
    created = [r.json() for r in responses]
    assert len({c["id"] for c in created}) == 24
    # Each answer is its own request's: the level from its own figures (thresholds.md).
    expected = ["II" if d >= 10 else "III" if d >= 3 else "IV" for d in (i % 12 for i in range(24))]
    assert [c["level"] for c in created] == expected
    assert api.db.group_commit.batches < batches + 24  # some of them shared a commit
    after = await stored_counts(api.db)
    assert after["incidents"] == before["incidents"] + 24
    assert after["idempotency_keys"] == before["idempotency_keys"] + 24
    # Every one has its reported event and its audit entry, in the log's order.
    for c in created:
        timeline = (await api.get(f"{INCIDENTS}/{c['id']}/timeline", reporter)).json()
        types = [e.get("type") for e in timeline["entries"]]
        assert types.count("incident.reported") == 1, types
    # Replaying each key gives back its own incident.
    replay = await api.post(
        INCIDENTS,
        {**reporter, "Idempotency-Key": "burst-7"},
        json=incident_body(title="第7号报告", figures={"deaths": 7}),
    )
    assert replay.status_code == 200
    assert replay.json()["id"] == created[7]["id"]
    async with api.db.read() as session:
        total = (await session.execute(select(func.count()).select_from(IdempotencyKey))).scalar()
    assert total == after["idempotency_keys"]


async def test_callers_are_not_left_waiting_when_the_batch_is_cut_short(db: Database) -> None:
    started = asyncio.Event()

    async def stuck(session: AsyncSession) -> str:
        started.set()
        await asyncio.Event().wait()  # never set: the shutdown comes first
        return "never"

    caller = asyncio.ensure_future(db.write_together(stuck))
    other = asyncio.ensure_future(db.write_together(remember("queued")))
    await asyncio.wait_for(started.wait(), 5)
    drainer = db.group_commit._drainer
    assert drainer is not None
    drainer.cancel()  # what stopping the loop at shutdown does
    for waiting in (caller, other):
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(waiting, 5)
    assert await keys(db) == []
