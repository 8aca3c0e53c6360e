"""Webhook delivery: deliveries per second, and what delivering costs intake.

1. Deliveries per second: 10 subscriptions to one receiver on loopback (a bare ASGI app
   under uvicorn, in its own process), `--events` events already in the log; the worker
   scans them into 10 x N deliveries and sends them all (`run_once`: signed, each attempt
   recorded), in this process.
2. Intake while delivering: bench.intake's load (level IV mine accidents, each with its own
   Idempotency-Key, from bench._util's light load generator) against a real uvicorn
   process of Fabu, for `--duration` seconds after a warm-up, three times on fresh
   databases:
   - baseline: the delivery worker off (FABU_DELIVERY_ENABLED=false);
   - B: the worker on, 10 publishers (wechat, weibo, website, generic) subscribed to
     release.published with `--backlog` releases x 10 queued at start; intake's events
     match none, so the worker is only draining the backlog (rendering every channel);
   - C: the same backlog, drained by a second Fabu process on the same database (the one
     serving intake has FABU_DELIVERY_ENABLED=false);
   - A (with --fanout): the worker on, 10 subscriptions to every event: each incident's own
     events fan out to 10 deliveries while intake runs (worst case).
   Prints each run's throughput, its ratio to the baseline, how many deliveries went out
   during the run, and how long the worker took to catch up afterwards.

    .venv/bin/python -m bench.webhooks                   # SQLite, about 100 s
    .venv/bin/python -m bench.webhooks --pg              # PostgreSQL at 127.0.0.1:5432
    .venv/bin/python -m bench.webhooks --duration 5 --events 200

Everything on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app import directory
from app.auth import system_principal
from app.clock import SystemClock
from app.config import Settings
from app.db import Database
from app.events import log
from app.models.webhooks import WebhookDelivery
from app.publishing.worker import DeliveryWorker
from app.runtime import Runtime
from app.schemas.webhooks import WebhookCreate
from app.secretbox import box_for
from app.workflows import webhooks as webhooks_wf
from bench._util import (
    ROOT,
    LoadResult,
    LoadSpec,
    free_port,
    mint_token,
    prepare_database,
    run_load,
    scratch_database,
    serve,
    table,
)
from bench.intake import PANZHOU, incident_body

SUBSCRIPTIONS = 10
CHANNELS = ("wechat", "weibo", "website", "generic")
# After an intake run, how long to wait for the worker to catch up.
DRAIN_LIMIT = 15.0

RECEIVER = """
import sys
import uvicorn

count = 0


async def app(scope, receive, send):
    global count
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["method"] == "POST":
        count += 1
        body = b"ok"
    else:
        body = str(count).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


@contextmanager
def receiver() -> Iterator[str]:
    """A publisher that answers 200 at once and counts; GET /count says how many."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="fabu-receiver-") as tmp:
        script = Path(tmp) / "receiver.py"
        script.write_text(RECEIVER)
        proc = subprocess.Popen(
            [sys.executable, str(script), str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    received(url)
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the receiver did not start") from None
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def received(receiver_url: str) -> int:
    with urllib.request.urlopen(f"{receiver_url}/count", timeout=5) as r:
        return int(r.read())


def release_data(n: int) -> dict[str, Any]:
    """A `release.published` event's data, as the release workflow writes it."""
    return {
        "id": f"rel_bench_{n}",
        "kind": "follow_up",
        "title": f"关于盘州市某煤矿透水事故救援进展情况的第{n}次通报",
        "body": "经全力搜救，被困人员已全部升井，伤者正在医院救治。" * 20,
        "channels": list(CHANNELS),
        "facts": {"place": "盘州市某煤矿", "casualties": {"deaths": 0, "injured": 2}},
        "incident_id": None,
        "published_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "url": f"https://www.guizhou.gov.cn/releases/rel_bench_{n}",
        "org_id": "gov-520281",
        "org_name_zh": "盘州市人民政府",
        "org_name_en": "Panzhou People's Government",
    }


async def subscribe(
    url: str,
    receiver_url: str,
    *,
    event_types: tuple[str, ...],
    channels: tuple[str, ...],
    releases: int = 0,
    incidents: int = 0,
) -> None:
    """10 subscriptions to the receiver; then `releases` published releases and
    `incidents` reported incidents written to the log for them."""
    db = Database(url)
    try:
        actor = system_principal("gov-520000", "520000", directory.tree().descendants("520000"))
        async with db.write() as session:
            for n in range(SUBSCRIPTIONS):
                hook = f"{receiver_url}/hook/{n}"
                body = WebhookCreate.model_validate(
                    {
                        "url": hook,
                        "channel": channels[n % len(channels)],
                        "event_types": list(event_types),
                    }
                )
                await webhooks_wf.create(
                    session,
                    body,
                    url=hook,
                    actor=actor,
                    clock=SystemClock(),
                    box=box_for(Settings()),
                )
        now = datetime.now(UTC)
        async with db.write() as session:
            for n in range(releases):
                await log.append(
                    session,
                    "release.published",
                    at=now,
                    data=release_data(n),
                    org_id="gov-520281",
                    division_codes=[PANZHOU],
                )
            for n in range(incidents):
                await log.append(
                    session,
                    "incident.reported",
                    at=now,
                    data={"title": f"第{n}起煤矿透水事故", "figures": {"trapped": 4}},
                    division_codes=[PANZHOU],
                )
    finally:
        await db.dispose()


async def count_statuses(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
            )
            return {status: int(n) for status, n in rows.all()}
    finally:
        await db.dispose()


# -- 1. deliveries per second ---------------------------------------------------------------


async def deliver_all(url: str, receiver_url: str) -> dict[str, float]:
    db = Database(url)
    settings = Settings(database_url=url, allow_private_webhooks=True)
    worker = DeliveryWorker(Runtime(settings=settings, db=db, clock=SystemClock()))
    try:
        before = await asyncio.to_thread(received, receiver_url)
        started = time.perf_counter()
        events = await worker.scan()
        scanned = time.perf_counter() - started
        attempts = await worker.deliver_due()
        elapsed = time.perf_counter() - started
        got = await asyncio.to_thread(received, receiver_url) - before
    finally:
        await worker.stop()
        await db.dispose()
    delivered = (await count_statuses(url)).get("delivered", 0)
    return {
        "events": events,
        "scan_seconds": scanned,
        "attempts": attempts,
        "received": got,
        "delivered": delivered,
        "seconds": elapsed,
    }


# -- 2. intake with and without delivery --------------------------------------------------------


def intake_run(
    *,
    pg: bool,
    name: str,
    receiver_url: str | None,
    args: argparse.Namespace,
    separate_worker: bool = False,
    **subscriptions: Any,
) -> tuple[LoadResult, dict[str, Any]]:
    with scratch_database(pg=pg, name=f"bench_webhooks_{name}") as url:
        prepare_database(url)
        token = mint_token(url, PANZHOU, ["reporter"])
        if receiver_url:
            asyncio.run(subscribe(url, receiver_url, **subscriptions))
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        intake = LoadSpec(
            "POST",
            "/api/v1/incidents",
            headers=headers,
            body=incident_body(major=False),
            unique_header="Idempotency-Key",
        )
        delivering = bool(receiver_url) and not separate_worker
        env = {
            "FABU_DELIVERY_ENABLED": "true" if delivering else "false",
            "FABU_ALLOW_PRIVATE_WEBHOOKS": "true",
        }
        worker_env = {**env, "FABU_DELIVERY_ENABLED": "true", "FABU_SCHEDULER_ENABLED": "false"}
        extra: dict[str, Any] = {}
        with ExitStack() as stack:
            server = stack.enter_context(serve(url, env=env))
            if separate_worker:
                # Another instance on the same database that takes no requests: the worker.
                stack.enter_context(serve(url, env=worker_env))
            before = received(receiver_url) if receiver_url else 0
            result = run_load(
                server.port,
                intake,
                concurrency=args.concurrency,
                seconds=args.duration,
                warmup=args.warmup,
            )
            if receiver_url:
                extra["during"] = received(receiver_url) - before
                statuses = asyncio.run(count_statuses(url))
                extra["pending_at_end"] = statuses.get("pending", 0)
                started = time.perf_counter()
                while statuses.get("pending", 0) and time.perf_counter() - started < DRAIN_LIMIT:
                    time.sleep(0.25)
                    statuses = asyncio.run(count_statuses(url))
                extra["drain_seconds"] = time.perf_counter() - started
                extra["pending_after"] = statuses.get("pending", 0)
                extra["dead"] = statuses.get("dead", 0)
        return result, extra


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--events", type=int, default=300, help="events for part 1")
    parser.add_argument("--backlog", type=int, default=400, help="releases queued in run B")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per intake run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds not counted")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL at 127.0.0.1:5432")
    parser.add_argument(
        "--fanout", action="store_true", help="also run A: 10 subscriptions to every event"
    )
    args = parser.parse_args()
    backend = "PostgreSQL" if args.pg else "SQLite"

    with receiver() as receiver_url:
        with scratch_database(pg=args.pg, name="bench_webhooks_dps") as url:
            prepare_database(url)
            asyncio.run(
                subscribe(
                    url,
                    receiver_url,
                    event_types=("*",),
                    channels=("generic",),
                    incidents=args.events,
                )
            )
            one = asyncio.run(deliver_all(url, receiver_url))
        runs: list[tuple[str, LoadResult, dict[str, Any]]] = []
        base, _ = intake_run(pg=args.pg, name="base", receiver_url=None, args=args)
        runs.append(("baseline: worker off", base, {}))
        if args.fanout:
            result, extra = intake_run(
                pg=args.pg,
                name="fanout",
                receiver_url=receiver_url,
                args=args,
                event_types=("*",),
                channels=("generic",),
            )
            runs.append(("A: 10 subs to every event", result, extra))
        backlog = {
            "event_types": ("release.published",),
            "channels": CHANNELS,
            "releases": args.backlog,
        }
        result, extra = intake_run(
            pg=args.pg, name="backlog", receiver_url=receiver_url, args=args, **backlog
        )
        runs.append((f"B: draining {args.backlog}x10 releases", result, extra))
        result, extra = intake_run(
            pg=args.pg,
            name="separate",
            receiver_url=receiver_url,
            args=args,
            separate_worker=True,
            **backlog,
        )
        runs.append(("C: B, worker in its own process", result, extra))

    print(f"bench.webhooks: {backend}; receiver and load generator in their own processes")
    print()
    print(f"1. Deliveries, {SUBSCRIPTIONS} subscriptions x {int(one['events'])} events, one worker")
    print(
        f"   queued in {one['scan_seconds']:.2f} s; {int(one['attempts'])} attempts, "
        f"{int(one['received'])} received, {int(one['delivered'])} delivered in "
        f"{one['seconds']:.2f} s: {one['delivered'] / one['seconds']:,.0f} deliveries/s"
    )
    print()
    print(
        f"2. Intake (bench.intake's load), concurrency {args.concurrency}, "
        f"{args.duration:g} s after {args.warmup:g} s warm-up"
    )
    rows = [["run", "requests", "errors", "req/s", "p50 ms", "p99 ms", "vs baseline"]]
    for label, r, _ in runs:
        rows.append(
            [
                label,
                str(r.requests),
                str(r.errors),
                f"{r.throughput:.0f}",
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                f"{r.throughput / base.throughput:.0%}",
            ]
        )
    print(table(rows))
    print()
    window = args.duration + args.warmup
    for label, _, extra in runs[1:]:
        print(
            f"   {label[:1]}: {extra['during']} deliveries during the run "
            f"({extra['during'] / window:,.0f}/s over {window:g} s); {extra['pending_at_end']} "
            f"pending at its end, {extra['pending_after']} after {extra['drain_seconds']:.1f} s "
            f"more; {extra['dead']} dead"
        )


if __name__ == "__main__":
    os.environ.setdefault("FABU_LOG_LEVEL", "warning")
    main()
