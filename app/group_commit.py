"""Group commit: small write transactions that arrive together commit as one.

Intake is many short transactions of a few rows each. On SQLite only one writer runs at a
time, and on PostgreSQL every event append waits for the event-order lock, so each intake
pays a whole transaction (begin, statements, commit, listeners) for a handful of rows.
Here the writes waiting at the same moment share one transaction: each piece of work adds
its rows to one session, one flush sends them in a few multi-row statements, one commit
ends them all. Nobody waits for company: a batch is whatever queued while the previous one
ran, often a batch of one.

A piece of work must not flush or commit, and must finish before the batch commits. If any
piece fails, or the flush or commit fails, the batch is rolled back and every piece runs
again alone, so one bad request never takes others down with it and each caller sees only
its own outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics

T = TypeVar("T")

Work = Callable[[AsyncSession], Awaitable[T]]
Transaction = Callable[[], contextlib.AbstractAsyncContextManager[AsyncSession]]


_SHARED = "group_commit.shared"


def shared(session: AsyncSession) -> bool:
    """True while `session` carries a batch of several pieces. A piece may then leave a
    duplicate to the database's unique constraint rather than look for it first: if the
    constraint fires, the batch is redone piece by piece, each in a session of its own."""
    return bool(session.info.get(_SHARED))


class _Pending(Generic[T]):
    __slots__ = ("future", "work")

    def __init__(self, work: Work[T], future: asyncio.Future[T]) -> None:
        self.work = work
        self.future = future


class GroupCommit:
    def __init__(self, transaction: Transaction, *, max_batch: int = 64) -> None:
        self._transaction = transaction
        self.max_batch = max_batch
        self._queue: list[_Pending[Any]] = []
        self._drainer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed

    async def run(self, work: Work[T]) -> T:
        """Do `work` in a write transaction shared with whatever else is waiting."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(work, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[_Pending[Any]] = []
        try:
            while self._queue:
                # Let every request that is ready reach the queue before the batch is cut.
                await asyncio.sleep(0)
                batch = self._queue[: self.max_batch]
                del self._queue[: len(batch)]
                batch = [p for p in batch if not p.future.done()]  # callers that gave up
                if len(batch) > 1 and await self._together(batch):
                    continue
                for pending in batch:
                    await self._alone(pending)
        except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
            for pending in [*batch, *self._queue]:
                if pending.future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    pending.future.cancel()
                else:
                    pending.future.set_exception(exc)
            self._queue.clear()
            raise

    async def _together(self, batch: list[_Pending[Any]]) -> bool:
        """One transaction for the batch; False (rolled back) if any part of it failed."""
        results: list[Any] = []
        try:
            async with self._transaction() as session, _no_autoflush(session):
                session.info[_SHARED] = True
                for pending in batch:
                    results.append(await pending.work(session))
        except Exception:
            return False
        self._count(len(batch))
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)
        return True

    async def _alone(self, pending: _Pending[Any]) -> None:
        try:
            async with self._transaction() as session:
                result = await pending.work(session)
        except Exception as exc:
            if not pending.future.done():
                pending.future.set_exception(exc)
            return
        self._count(1)
        if not pending.future.done():
            pending.future.set_result(result)

    def _count(self, pieces: int) -> None:
        self.batches += 1
        # Help texts are declared with the counters in app.metrics.COUNTERS.
        metrics.inc("fabu_group_commits_total")
        metrics.inc("fabu_group_commit_writes_total", pieces)


@contextlib.asynccontextmanager
async def _no_autoflush(session: AsyncSession) -> AsyncIterator[None]:
    # A query by a later piece would otherwise flush the earlier pieces' rows one by one.
    with session.no_autoflush:
        yield
