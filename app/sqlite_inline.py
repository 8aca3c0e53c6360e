"""aiosqlite's interface with every SQLite call made at once on the event loop's thread.

aiosqlite hands each call (cursor, execute, fetch, close: about four per statement) to a
worker thread and back. A SQLite call in WAL mode takes microseconds; the two thread
hand-offs around it take tens to hundreds, more when the GIL is contended. Intake measured
about 27 hand-offs per request, most of its latency. Running the calls inline removes them.

The cost: a call that waits on another process's write lock (busy_timeout) blocks the loop
for that long. Within one process writers are already queued by Database's write lock and
WAL readers never wait, so only a second process writing the same file can cause a wait,
and its transactions are as short as ours.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose worker thread is never started."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def creator(path: str, *, busy_timeout_s: float) -> Callable[[], Any]:
    """An `async_creator` for create_async_engine on the aiosqlite dialect."""

    def connector() -> sqlite3.Connection:
        # isolation_level=None: SQLAlchemy issues BEGIN itself (BEGIN IMMEDIATE for writers).
        return sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )

    async def create() -> InlineConnection:
        return await InlineConnection(connector, 64)

    return create
