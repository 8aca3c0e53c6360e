"""The WebSocket hub: tail the event log once per instance and fan it out to live clients.

The `events` table is the truth. Each instance runs one reader that fetches the events after
the last seq it has seen whenever it is poked, and offers each one to the bounded queue of
every client whose jurisdiction covers it. Pokes come from this process's own commits
(Database.on_commit), from PostgreSQL NOTIFY on `fabu_events` (sent by log.append inside every
event-writing transaction, so an event committed through any instance wakes every instance),
and from a slow poll as a safety net for a lost notification or a dropped LISTEN connection.

Tailing rather than carrying events in the notification keeps one ordering for everyone:
commit order equals seq order (log.append), so "everything after seq N" has no holes, and a
client that resumes with `after=N` gets exactly what it missed, from any instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from app import metrics
from app.auth import Principal
from app.events import log
from app.events.filters import Audience
from app.models import ApiToken, Event
from app.runtime import Runtime
from app.services import Service

logger = logging.getLogger("fabu.hub")

# Close codes of WS /live (README, "Live status and the dashboard").
CLOSE_BAD_REQUEST = 4400  # `after` is not a seq of this log
CLOSE_UNAUTHORIZED = 4401  # token missing, unknown or revoked
CLOSE_SLOW_CONSUMER = 4008  # the client fell further behind than its queue allows
CLOSE_RESTART = 1012  # the instance is stopping; reconnect (to another one) and resume
CLOSE_UNAVAILABLE = 1013  # the hub is not running in this instance

NOTIFY_CHANNEL = "fabu_events"
# The safety net: at worst an event reaches clients this late if every poke was lost.
POLL_SECONDS = 2.0
# Events read per query, by the tail reader and by a replay.
BATCH = 500


def encode(event: Event) -> str:
    """The wire text of an event, built once and shared by every client that sees it."""
    return json.dumps(log.to_wire(event), ensure_ascii=False, separators=(",", ":"))


class Subscriber:
    """One live client: its audience, a bounded queue, and why it must stop, if it must."""

    def __init__(self, principal: Principal, audience: Audience, limit: int) -> None:
        self.principal = principal
        self.audience = audience
        self.limit = max(1, limit)
        # None while replaying from the database: live events are not queued until the
        # replay has caught up with the hub (see Hub.replay), so a long replay cannot
        # overflow the queue. Afterwards, the last seq queued or replayed.
        self.cursor: int | None = None
        # The seq at which the replay handed over to the queue.
        self.live_from: int | None = None
        self._queue: deque[tuple[int, str]] = deque()
        # A bare future rather than asyncio.Event + wait_for: a thousand clients wake on
        # every event, and a wait_for costs a task each time.
        self._waiter: asyncio.Future[None] | None = None
        self.overflowed = False
        self.stopping = False
        self.revoked = False
        self.ping_due = False

    def go_live(self, cursor: int) -> None:
        self.cursor = cursor
        self.live_from = cursor

    def offer(self, seq: int, text: str) -> None:
        if self.cursor is None or seq <= self.cursor or self.overflowed:
            return
        if len(self._queue) >= self.limit:
            # Dropping one event would leave a silent gap; closing lets it resume exactly.
            self.overflowed = True
            self._queue.clear()
        else:
            self._queue.append((seq, text))
            self.cursor = seq
        self._wake()

    def stop(self) -> None:
        self.stopping = True
        self._wake()

    def revoke(self) -> None:
        self.revoked = True
        self._wake()

    def ping(self) -> None:
        self.ping_due = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def flagged(self) -> bool:
        return self.overflowed or self.stopping or self.revoked or self.ping_due

    async def next(self) -> list[tuple[int, str]]:
        """Everything queued, once there is something (or a flag is raised)."""
        if not self._queue and not self.flagged:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.take()

    def take(self) -> list[tuple[int, str]]:
        """Everything queued now, without waiting."""
        items = list(self._queue)
        self._queue.clear()
        return items


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as psycopg wants it (no `+driver`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Hub:
    name = "hub"

    def __init__(
        self, rt: Runtime, *, poll_seconds: float = POLL_SECONDS, coalesce_seconds: float = 0.0
    ) -> None:
        self.rt = rt
        self.poll_seconds = poll_seconds
        self.coalesce_seconds = coalesce_seconds
        self.last_seq = 0
        self.listening = False
        self._groups: dict[Audience, set[Subscriber]] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._last_drain = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.last_seq = await self.tail()
        self._last_drain = time.monotonic()
        self.rt.db.on_commit(self.poke)
        self._tasks.append(asyncio.create_task(self._read_forever(), name="hub-reader"))
        self._tasks.append(asyncio.create_task(self._tick_forever(), name="hub-ticker"))
        if not self.rt.db.sqlite:
            self._tasks.append(asyncio.create_task(self._listen_forever(), name="hub-listen"))
        metrics.gauge("fabu_live_clients", self.client_count, "WebSocket clients connected")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._stop_subscribers()

    def health(self) -> dict[str, Any]:
        return {
            "ok": bool(self._tasks) and not any(t.done() for t in self._tasks),
            "last_seq": self.last_seq,
            "clients": self.client_count(),
            "listening": self.listening if not self.rt.db.sqlite else None,
            "seconds_since_read": round(time.monotonic() - self._last_drain, 1),
        }

    def client_count(self) -> float:
        return float(sum(len(g) for g in self._groups.values()))

    def poke(self) -> None:
        """Something was committed: read the log. Safe from any thread."""
        self._soon(self._wake.set)

    def disconnect_all(self) -> None:
        """Close every client with 1012; each resumes where it was. Safe from any thread."""
        self._soon(self._stop_subscribers)

    def _stop_subscribers(self) -> None:
        for group in list(self._groups.values()):
            for sub in list(group):
                sub.stop()

    def _soon(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            callback()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(callback)

    async def tail(self) -> int:
        """The highest seq committed so far (0 for an empty log)."""
        async with self.rt.db.read() as session:
            return await log.last_seq(session)

    # -- clients ---------------------------------------------------------------------------

    def subscribe(self, principal: Principal) -> Subscriber:
        """Register before replaying, so that nothing committed meanwhile is missed."""
        audience = Audience.of(principal)
        sub = Subscriber(principal, audience, self.rt.settings.ws_queue_limit)
        self._groups.setdefault(audience, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        group = self._groups.get(sub.audience)
        if group is None:
            return
        group.discard(sub)
        if not group:
            del self._groups[sub.audience]

    async def replay(self, sub: Subscriber, after: int) -> AsyncIterator[list[str]]:
        """The visible events after `after` from the database, a page at a time, then hand
        over to the queue.

        The hand-over is the seam: once a page comes back short and the replay has read at
        least as far as the hub has fanned out, the subscriber goes live at that seq in the
        same step (no await between the check and the switch). The hub offers it only events
        above that seq, and everything at or below it came from the database: no gap, no
        duplicate.
        """
        cursor = after
        while True:
            async with self.rt.db.read() as session:
                rows = await log.read_after(session, cursor, BATCH)
            texts = [encode(e) for e in rows if sub.audience.sees(e.division_codes, e.org_id)]
            if rows:
                cursor = rows[-1].seq
            caught_up = len(rows) < BATCH and cursor >= self.last_seq
            if caught_up:
                sub.go_live(cursor)
            if texts:
                yield texts  # one page of the log, in order
            if caught_up:
                return

    # -- the reader ------------------------------------------------------------------------

    async def _read_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            if self.coalesce_seconds > 0:
                # A thousand clients cost a thousand wake-ups and sends per read: one read
                # per burst of commits rather than one per commit (settings.ws_coalesce_seconds).
                await asyncio.sleep(self.coalesce_seconds)
            # Cleared before reading: a commit landing during the read pokes again.
            self._wake.clear()
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("reading the event log failed; retrying")
                await asyncio.sleep(1.0)

    async def drain(self) -> None:
        """Fan out everything committed after the last seq seen."""
        while True:
            async with self.rt.db.read() as session:
                rows = await log.read_after(session, self.last_seq, BATCH)
            self._last_drain = time.monotonic()
            for event in rows:
                self._fan_out(event)
            if len(rows) < BATCH:
                return

    def _fan_out(self, event: Event) -> None:
        text: str | None = None
        for audience, group in list(self._groups.items()):
            if not audience.sees(event.division_codes, event.org_id):
                continue
            if text is None:
                text = encode(event)
            for sub in list(group):
                sub.offer(event.seq, text)
        self.last_seq = event.seq

    # -- pings and revocations -----------------------------------------------------------

    async def _tick_forever(self) -> None:
        """Every ping interval: one query for revoked tokens, then a ping to everyone else.

        One timer and one query for all clients, instead of one per client: a thousand
        dashboards cost the same as one here.
        """
        while True:
            await asyncio.sleep(max(0.05, self.rt.settings.ws_ping_seconds))
            subs = [sub for group in list(self._groups.values()) for sub in group]
            try:
                revoked = await self.revoked_tokens({s.principal.token_id for s in subs})
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("checking tokens failed; pinging all")
                revoked = set()
            for sub in subs:
                if sub.principal.token_id in revoked:
                    sub.revoke()
                else:
                    sub.ping()

    async def revoked_tokens(self, token_ids: set[str | None]) -> set[str | None]:
        """Those of `token_ids` that are revoked or gone (DELETE /tokens revokes at once)."""
        wanted = sorted(t for t in token_ids if t is not None)
        live: set[str] = set()
        async with self.rt.db.read() as session:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                rows = await session.execute(
                    select(ApiToken.id).where(ApiToken.id.in_(chunk), ApiToken.revoked_at.is_(None))
                )
                live.update(rows.scalars())
        return {t for t in wanted if t not in live}

    # -- other instances (PostgreSQL) ------------------------------------------------------

    async def _listen_forever(self) -> None:
        import psycopg  # PostgreSQL only; SQLite has one process per file

        backoff = 1.0
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    libpq_url(self.rt.db.url), autocommit=True
                )
                async with conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.listening = True
                    backoff = 1.0
                    # Whatever committed while nobody listened is in the table: read it.
                    self.poke()
                    async for _ in conn.notifies():
                        self.poke()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(
                    "LISTEN %s lost (%s); the poll covers meanwhile", NOTIFY_CHANNEL, exc
                )
            finally:
                self.listening = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)


def factory(rt: Runtime) -> Service | None:
    return Hub(rt, poll_seconds=POLL_SECONDS, coalesce_seconds=rt.settings.ws_coalesce_seconds)
