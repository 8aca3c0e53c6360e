"""The webhook delivery worker: tails the event log and sends what is due, beside the API.

Two steps, each its own short transaction:

- scan: events after the cursor become deliveries for every active subscription they match
  (app.workflows.webhooks.enqueue), cursor moved in the same transaction;
- deliver: for every subscription with due deliveries a lane (one asyncio task) claims a
  few, sends them concurrently and records each attempt. Lanes run side by side, so a slow
  or dead receiver holds up only its own lane, never intake or other subscriptions.

Time comes from the runtime's clock (due checks, retry times), so tests drive `run_once()`
on a manual clock. The webhook-timestamp header is the wall time of sending: receivers
compare it with their own clocks to refuse replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Generic, TypeVar

import httpx

from app.clock import iso
from app.publishing import delivery
from app.publishing.delivery import Outcome, Resolver
from app.runtime import Runtime
from app.secretbox import SecretUnavailable, box_for
from app.services import Service
from app.workflows import webhooks as flow

log = logging.getLogger("fabu.webhooks")

# How long a woken worker waits for more commits before scanning the log.
COALESCE_SECONDS = 0.05

T = TypeVar("T")
R = TypeVar("R")

# How long a claimed delivery is held by its claimant: longer than one attempt can take
# (15 s) plus recording it. A worker that dies mid-send leaves it due again after this.
CLAIM_LEASE: Final = timedelta(seconds=30)
# Deliveries one subscription has in flight at once.
LANE_SIZE: Final = 8
SCAN_BATCH: Final = 500
# Other instances write events too (PostgreSQL); retries fall due: look this often.
POLL_SECONDS: Final = 1.0
# How often the worker prunes delivered deliveries past retention, and how many per
# transaction (short, so intake never waits long behind it for SQLite's write lock).
PRUNE_EVERY_SECONDS: Final = 3600.0
PRUNE_BATCH: Final = 1000
# On shutdown, in-flight sends get this long to finish and be recorded.
STOP_GRACE_SECONDS: Final = 2.0


class Batcher(Generic[T, R]):
    """Runs the requests of every lane together: one transaction for whatever came in while
    the previous one was being written. SQLite has one writer at a time and intake needs
    its turns too, so the worker takes the lock a few times per round, not once per lane."""

    def __init__(self, name: str, write: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self.name = name
        self._write = write
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """The answer for `item`, once the transaction that handled it has committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=f"webhook-{self.name}")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            waiting = [(item, future) for item, future in batch if not future.cancelled()]
            if not waiting:
                continue
            try:
                results = await self._write([item for item, _ in waiting])
            except Exception as exc:
                log.exception("webhook %s failed; what it held is retried later", self.name)
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:
                for _, future in waiting:
                    future.cancel()
                raise
            for (_, future), result in zip(waiting, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class DeliveryWorker:
    name = "webhooks"

    def __init__(
        self,
        rt: Runtime,
        *,
        rng: random.Random | None = None,
        resolve: Resolver | None = None,
    ) -> None:
        self.rt = rt
        # One connection pool per subscription, sized to its lane: receivers do not share
        # connections, and a pool of a few connections stays cheap to manage.
        self._clients: dict[str, httpx.AsyncClient] = {}
        self.rng = rng or random.Random()
        # Private addresses allowed (tests): no lookups. Otherwise every new connection
        # checks where the name points now, as it may have changed since subscription (DNS
        # rebinding), and goes to the address it checked (delivery.PinnedBackend).
        self.resolve: Resolver | None = (
            None if rt.settings.allow_private_webhooks else (resolve or delivery.resolve_host)
        )
        self.retention = (
            timedelta(days=rt.settings.delivery_retention_days)
            if rt.settings.delivery_retention_days > 0
            else None
        )
        self._pruned_at: float | None = None  # monotonic time of the last prune
        self.box = box_for(rt.settings)
        # Stored secret -> the secret itself: opening one costs more than signing with it,
        # and every send signs. A resealed secret is stored anew and opened anew.
        self._opened: dict[str, str] = {}
        self._lanes: dict[str, asyncio.Task[int]] = {}
        self._nudges: dict[str, asyncio.Event] = {}
        self._claims: Batcher[tuple[str, int], flow.ClaimResult] = Batcher("claims", self._claim)
        self._records: Batcher[flow.Attempted, str] = Batcher("records", self._record)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.last_tick: float | None = None
        self.last_error: str | None = None

    def client_for(self, subscription_id: str) -> httpx.AsyncClient:
        client = self._clients.get(subscription_id)
        if client is None:
            client = self._clients[subscription_id] = delivery.make_client(
                LANE_SIZE, resolve=self.resolve
            )
        return client

    # -- service ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        if self.box.sealing:
            async with self.rt.db.write() as session:
                resealed = await flow.reseal_secrets(session, self.box)
            if resealed:
                log.info("sealed %d webhook secrets under the first FABU_SECRET_KEYS key", resealed)
        else:
            log.warning("FABU_SECRET_KEYS is not set: webhook secrets are stored unencrypted")
        self.rt.db.on_commit(self.wake)
        self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        lanes = list(self._lanes.values())
        if lanes:
            # Lanes stop claiming; what is in flight may finish. What does not is still
            # claimed and goes out again when the lease runs out (at-least-once).
            _, late = await asyncio.wait(lanes, timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._claims.stop()
        await self._records.stop()
        await self.close()

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def wake(self) -> None:
        """Called after every commit that wrote events: scan now rather than at the poll."""
        if not self._stopping:
            self._wake.set()

    async def health(self) -> dict[str, Any]:
        running = self._task is not None and not self._task.done()
        return {
            "ok": running,
            "lanes": len(self._lanes),
            "last_tick_seconds_ago": (
                round(time.monotonic() - self.last_tick, 3) if self.last_tick else None
            ),
            "last_error": self.last_error,
        }

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.scan()
                await self._dispatch()
                if self._pruned_at is None or (
                    time.monotonic() - self._pruned_at >= PRUNE_EVERY_SECONDS
                ):
                    self._pruned_at = time.monotonic()
                    await self.prune()
                self.last_tick = time.monotonic()
                self.last_error = None
            except Exception as exc:  # keep running; the database may be back next tick
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("webhook worker tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)
            if not self._stopping:
                # Under a burst of intake every commit wakes the worker; gathering the events
                # of a short window into one scan keeps its write transactions from taking
                # turns with every intake for SQLite's single write lock.
                await asyncio.sleep(COALESCE_SECONDS)

    # -- the steps (tests call these) ----------------------------------------------------

    async def scan(self) -> int:
        """Turn every new event into deliveries. Returns how many events were read."""
        total = 0
        while True:
            async with self.rt.db.read() as session:
                start = await flow.scan_start(session)
            if start is None:
                return total
            async with self.rt.db.write() as session:
                read = await flow.enqueue(session, now=self.rt.clock.now(), batch=SCAN_BATCH)
            total += read
            if read < SCAN_BATCH:
                return total

    async def prune(self) -> int:
        """Delete what was delivered more than the retention period ago (with its attempt
        log), a batch per transaction. Returns how many deliveries went."""
        if self.retention is None:
            return 0
        before = self.rt.clock.now() - self.retention
        total = 0
        while True:
            async with self.rt.db.write() as session:
                pruned = await flow.prune_delivered(session, before=before, limit=PRUNE_BATCH)
            total += pruned
            if pruned < PRUNE_BATCH:
                if total:
                    log.info("pruned %d deliveries delivered before %s", total, before)
                return total

    async def deliver_due(self) -> int:
        """Send everything due now and wait for it. Returns the number of attempts made."""
        await self._dispatch()
        results = await asyncio.gather(*self._lanes.values(), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def run_once(self) -> int:
        await self.scan()
        return await self.deliver_due()

    # -- lanes -----------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        """A lane for every subscription with due deliveries; a running lane is nudged."""
        async with self.rt.db.read() as session:
            due = await flow.due_subscriptions(session, now=self.rt.clock.now())
        for subscription_id in due:
            if subscription_id in self._lanes:
                self._nudges[subscription_id].set()
                continue
            self._nudges[subscription_id] = asyncio.Event()
            task = asyncio.create_task(
                self._lane(subscription_id), name=f"webhook-lane-{subscription_id}"
            )
            self._lanes[subscription_id] = task
            task.add_done_callback(self._lane_done(subscription_id))

    def _lane_done(self, subscription_id: str) -> Callable[[asyncio.Task[int]], None]:
        def forget(task: asyncio.Task[int]) -> None:
            if self._lanes.get(subscription_id) is task:
                del self._lanes[subscription_id]
                self._nudges.pop(subscription_id, None)
            if not task.cancelled() and task.exception() is not None:
                log.error(
                    "webhook lane %s stopped: %r; its claims lapse and are retried",
                    subscription_id,
                    task.exception(),
                )

        return forget

    async def _lane(self, subscription_id: str) -> int:
        """Keep up to `LANE_SIZE` deliveries of one subscription in flight.

        A slot is freed when its attempt is recorded. Free slots are filled once half the
        lane is free (fewer, larger claims) or at once when nudged that more is due.
        """
        nudge = self._nudges[subscription_id]
        flying: set[asyncio.Task[str]] = set()
        attempts = 0
        # Refill when half the lane is free (or all of it): fewer, larger claims.
        refill = max(1, LANE_SIZE // 2)
        try:
            while True:
                free = LANE_SIZE - len(flying)
                wanted = free >= refill or not flying or nudge.is_set()
                if free > 0 and wanted and not self._stopping:
                    nudge.clear()
                    target, claimed = await self._claims.submit((subscription_id, free))
                    if target is not None:
                        for item in claimed:
                            flying.add(asyncio.create_task(self._attempt(target, item)))
                if not flying:
                    return attempts
                waiter = asyncio.create_task(nudge.wait())
                watch: set[asyncio.Future[Any]] = {*flying}
                if len(flying) < LANE_SIZE and not self._stopping:
                    watch.add(waiter)
                done, _ = await asyncio.wait(watch, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                for task in [t for t in flying if t in done]:
                    flying.discard(task)
                    task.result()  # a failure to record ends the lane (claims expire)
                    attempts += 1
        except BaseException:
            # Whatever is still in flight stays claimed and goes out again after the lease.
            for task in flying:
                task.cancel()
            await asyncio.gather(*flying, return_exceptions=True)
            raise
        finally:
            # An idle lane lets go of its connections; the next one opens new ones.
            client = self._clients.pop(subscription_id, None)
            if client is not None:
                await client.aclose()

    async def _attempt(self, target: flow.Target, item: flow.Claimed) -> str:
        started = self.rt.clock.now()
        outcome = await self._send(target, item)
        return await self._records.submit(flow.Attempted(item, outcome, started))

    async def _claim(self, requests: list[tuple[str, int]]) -> list[flow.ClaimResult]:
        async with self.rt.db.write() as session:
            now = self.rt.clock.now()
            return await flow.claim_many(session, requests, now=now, lease=CLAIM_LEASE)

    async def _record(self, batch: list[flow.Attempted]) -> list[str]:
        async with self.rt.db.write() as session:
            done = self.rt.clock.now()
            became = await flow.record_many(session, batch, now=done, rng=self.rng)
        for item, result in zip(batch, became, strict=True):
            if result == "dead":
                log.warning(
                    "webhook %s: event %s dead-lettered at %s (%s)",
                    item.claimed.delivery_id,
                    item.claimed.event.id,
                    iso(done),
                    item.outcome.error or item.outcome.status_code,
                )
        return became

    def _secret(self, stored: str) -> str:
        secret = self._opened.get(stored)
        if secret is None:
            secret = self._opened[stored] = self.box.open(stored)
        return secret

    async def _send(self, target: flow.Target, item: flow.Claimed) -> Outcome:
        try:
            text = delivery.encode(
                delivery.payload(
                    item.event,
                    target.channel,
                    public_url=self.rt.settings.public_url,
                    org_names=item.org_names,
                )
            )
            headers = delivery.signed_headers(
                self._secret(target.secret),
                msg_id=item.event.id,
                at=datetime.now(UTC),
                body=text,
            )
        except SecretUnavailable as exc:  # retried: the operator may fix the keys meanwhile
            log.error("webhook %s: %s", target.subscription_id, exc)
            return Outcome(None, 0.0, f"cannot sign: {exc}")
        except Exception as exc:  # a bad event must not stop the lane; the log shows it
            log.exception(
                "webhook %s: cannot build event %s", target.subscription_id, item.event.id
            )
            return Outcome(None, 0.0, f"could not build the request: {type(exc).__name__}")
        return await delivery.send(
            self.client_for(target.subscription_id),
            target.url,
            headers=headers,
            body=text.encode("utf-8"),
        )


def factory(rt: Runtime) -> Service | None:
    if not rt.settings.delivery_enabled:
        return None
    return DeliveryWorker(rt)
