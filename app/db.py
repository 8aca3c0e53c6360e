"""Engine, sessions and the one way to write: a transaction that commits state and events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import event, make_url, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from app import sqlite_inline
from app.group_commit import GroupCommit, Work

T = TypeVar("T")

# About 40 MB of WAL (4 KB pages) before a commit checkpoints on the loop itself.
WAL_BACKSTOP_PAGES = 10_000


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sync_url(url: str) -> str:
    """The same database for synchronous tools (Alembic)."""
    return url.replace("sqlite+aiosqlite", "sqlite").replace("+asyncpg", "+psycopg")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if not is_sqlite(url):
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)
    path = make_url(url).database or ":memory:"
    engine = create_async_engine(
        url, async_creator=sqlite_inline.creator(path, busy_timeout_s=30.0), **kwargs
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints run on their own thread (app.sqlite_checkpoint); this is the backstop.
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that later
        # writes can fail at once with SQLITE_BUSY instead of waiting.
        write = conn.get_execution_options().get("fabu_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Database:
    """Sessions for reading and for writing; listeners hear of every commit that wrote events."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.engine = make_engine(url, **engine_kwargs)
        # SQLite has one writer at a time; queueing writers here is cheaper than busy retries.
        self._write_lock: AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if self.sqlite else nullcontext()
        )
        self._commit_listeners: list[Callable[[], None]] = []
        self.group_commit = GroupCommit(self.write)

    def on_commit(self, listener: Callable[[], None]) -> None:
        self._commit_listeners.append(listener)

    def notify_committed(self) -> None:
        for listener in self._commit_listeners:
            listener()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on any exception."""
        async with self._write_lock, self._write_session() as session:
            yield session

    async def write_together(self, work: Work[T]) -> T:
        """`work` in a write transaction shared with other writes waiting now (group
        commit, see app.group_commit): for frequent small writes such as intake."""
        return await self.group_commit.run(work)

    @asynccontextmanager
    async def _write_session(self) -> AsyncIterator[AsyncSession]:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(fabu_write=True)
            async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                try:
                    yield session
                    wrote_events = bool(session.info.get("events_written"))
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
        if wrote_events:
            self.notify_committed()

    async def dispose(self) -> None:
        await self.engine.dispose()


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def fetch(
    session: AsyncSession, model: type[T], ident: str, *, for_update: bool = False
) -> T | None:
    """The row with this id, or None. With `for_update` it stays locked until commit on
    PostgreSQL; SQLite has no row locks and lets one writer in at a time anyway."""
    stmt = select(model).filter_by(id=ident)
    if for_update and dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()
