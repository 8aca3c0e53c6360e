"""bench/fanout: commit-to-receipt latency of WS /live with 1,000 dashboards connected.

    .venv/bin/python -m bench.fanout [--clients 1000] [--rate 100] [--seconds 20] [--per-event]

1. Fabu: the app on uvicorn in its own process, on a fresh SQLite file (the embedded
   default), with the hub as in production. 1,000 WebSocket clients connect to
   /api/v1/live (four organs' tokens, so four audiences to filter for) offering the
   subprotocol `fabu.live.batch`, as the dashboard does: each message is an array of the
   events that were ready together, and latency is counted per event. With `--per-event`
   a second Fabu phase uses `fabu.live` (one event per message). A writer inside the
   server process then commits events through the ordinary unit of work
   (Database.write() + log.append, which pokes the hub on commit) at the given rate; each
   event carries `t0`, the wall-clock time taken just before its commit, so the latency
   measured includes the commit itself, the hub's read of the log, jurisdiction filtering,
   the per-client queue and the send.
2. Baseline, same run, same clients: a bare `websockets` server in its own process pushing
   messages of the same size and shape with `websockets.broadcast()` at the same rate
   (no database, no filtering, no per-client task).
3. Between the two, to show where the difference goes: a raw ASGI app on uvicorn (the
   server Fabu runs on) with one sending task and bounded queue per client like the hub's,
   but no database, no FastAPI and no filtering.

Each client records, for every message, receipt time minus `t0` (both processes read the
same system clock), and checks it got every seq once and in order. The clients are a
minimal RFC 6455 reader on raw asyncio sockets, so that on a 2-core machine the clients'
own cost stays small beside the servers'. Prints p50, p99 and max for each, the CPU each
side used, and the ratio to the baseline; a message not received within the grace period
counts as infinitely late.
Target: Fabu p99 under 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections import deque
from pathlib import Path
from typing import Any, cast

from bench._util import ROOT, free_port, percentile

DIVISION = "520281"  # Panzhou: visible to every token below
ORGS = ("io-520000", "520200", "520281", "dept-emergency_management")
# After the schedule, the wait goes on while messages keep arriving, until GRACE_SECONDS
# pass without one or HARD_CAP_SECONDS pass; a message not in by then counts as never (inf).
GRACE_SECONDS = 3.0
HARD_CAP_SECONDS = 10.0
# Padding that brings a message to the size of a typical incident.updated event (~650 B).
PAD = "盘州市某煤矿透水事故情况通报" * 12


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def run(main: Any) -> None:
    """On uvloop, as uvicorn runs the app: both servers and the clients on the same loop."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


# -- the servers (each in a process of its own) -------------------------------------------


def serve_app(port: int, db_url: str) -> None:
    """Fabu as `fabu serve` runs it, plus a bench-only route that starts the writer."""
    import uvicorn
    from fastapi import FastAPI

    from app.config import Settings
    from app.events import log
    from app.main import create_app
    from app.runtime import Runtime

    settings = Settings(
        database_url=db_url, scheduler_enabled=False, delivery_enabled=False, log_level="warning"
    )
    app: FastAPI = create_app(settings)
    rt: Runtime = app.state.runtime
    tasks: set[asyncio.Task[None]] = set()

    async def write(rate: float, seconds: float) -> None:
        start = time.monotonic() + 0.05
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            async with rt.db.write() as session:
                await log.append(
                    session,
                    "incident.updated",
                    at=rt.clock.now(),
                    division_codes=[DIVISION],
                    data={"n": n, "pad": PAD, "t0": time.time()},
                )

    @app.post("/bench/start")
    async def start(rate: float, seconds: float) -> dict[str, str]:
        task = asyncio.create_task(write(rate, seconds))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return {"started": "yes"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def bench_message(n: int) -> str:
    """Shaped like an event on the wire; `t0` is taken as the message leaves the writer."""
    return json.dumps(
        {
            "seq": n + 1,
            "id": f"evt_{n:026d}",
            "type": "incident.updated",
            "at": "2026-11-27T02:00:00Z",
            "data": {"n": n, "pad": PAD, "t0": time.time()},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


async def paced(rate: float, seconds: float, emit: Any) -> None:
    start = time.monotonic() + 0.05
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        emit(bench_message(n))


def serve_asgi(port: int) -> None:
    """uvicorn with a raw ASGI app: a sending task and a queue per client, nothing else."""
    import uvicorn

    waiters: dict[int, tuple[deque[str], list[asyncio.Future[None] | None]]] = {}

    def emit(text: str) -> None:
        for queue, waiter in waiters.values():
            queue.append(text)
            if waiter[0] is not None and not waiter[0].done():
                waiter[0].set_result(None)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["type"] == "http":
            query = dict(p.split("=") for p in scope["query_string"].decode().split("&"))
            asyncio.get_running_loop().create_task(
                paced(float(query["rate"]), float(query["seconds"]), emit)
            )
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"started"})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        queue: deque[str] = deque()
        waiter: list[asyncio.Future[None] | None] = [None]
        waiters[id(queue)] = (queue, waiter)

        async def pump() -> None:
            loop = asyncio.get_running_loop()
            while True:
                if not queue:
                    future: asyncio.Future[None] = loop.create_future()
                    waiter[0] = future
                    await future
                    waiter[0] = None
                while queue:
                    await send({"type": "websocket.send", "text": queue.popleft()})

        task = asyncio.create_task(pump())
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass
        finally:
            del waiters[id(queue)]
            task.cancel()

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_bare(port: int) -> None:
    """The floor: pre-encoded text broadcast to every connection, nothing else."""
    import websockets
    from websockets.asyncio.server import ServerConnection, serve

    clients: set[ServerConnection] = set()

    async def handler(conn: ServerConnection) -> None:
        if conn.request is not None and conn.request.path.startswith("/start"):
            query = dict(p.split("=") for p in conn.request.path.split("?")[1].split("&"))
            asyncio.get_running_loop().create_task(
                write(float(query["rate"]), float(query["seconds"]))
            )
            await conn.close()
            return
        clients.add(conn)
        try:
            await conn.wait_closed()
        finally:
            clients.discard(conn)

    async def write(rate: float, seconds: float) -> None:
        await paced(rate, seconds, lambda text: websockets.broadcast(clients, text))

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
            await asyncio.Future()

    run(main())


# -- the clients --------------------------------------------------------------------------


class Client(asyncio.Protocol):
    """A minimal RFC 6455 client: handshake, then unmasked server frames; answers pings."""

    def __init__(
        self, path: str, host: str, samples: array[float], protocol: str | None = None
    ) -> None:
        self.path = path
        self.host = host
        self.protocol = protocol
        self.samples = samples
        self.buffer = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.last_seq = 0
        self.received = 0
        self.out_of_order = 0
        self.closed_code: int | None = None
        self.gaps = 0
        self.last_t0 = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but behave as one.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        offer = f"Sec-WebSocket-Protocol: {self.protocol}\r\n" if self.protocol else ""
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n{offer}\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buffer
        buf += data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status:
                self.upgraded.set_exception(ConnectionError(status.decode()))
                return
            self.upgraded.set_result(None)
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            length = buf[1] & 0x7F
            head = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length = int.from_bytes(buf[2:4], "big")
                head = 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length = int.from_bytes(buf[2:10], "big")
                head = 10
            if len(buf) < head + length:
                return
            payload = bytes(buf[head : head + length])
            del buf[: head + length]
            if opcode == 1:
                self._message(payload, now)
            elif opcode == 9 and self.transport is not None:
                # Pong, masked with a zero key (legal, and the payload stays as it is).
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 8:
                self.closed_code = int.from_bytes(payload[:2], "big") if payload else 1005

    def _message(self, payload: bytes, now: float) -> None:
        if payload[:1] == b"[":  # fabu.live.batch: the events that were ready together
            for event in json.loads(payload):
                self._event(event["seq"], event["data"]["t0"], now)
            return
        at = payload.find(b'"t0":')
        if at < 0:
            return  # a ping message of the live protocol
        end = at + 5
        while payload[end] not in b",}":
            end += 1
        # Every single-event message starts {"seq":N,
        self._event(int(payload[7 : payload.index(b",")]), float(payload[at + 5 : end]), now)

    def _event(self, seq: int, t0: float, now: float) -> None:
        self.samples.append(now - t0)
        if t0 > self.last_t0:
            self.last_t0 = t0
        if seq <= self.last_seq:
            self.out_of_order += 1
        elif seq > self.last_seq + 1:
            self.gaps += seq - self.last_seq - 1  # every stream here starts at seq 1
        self.last_seq = seq
        self.received += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed during the handshake"))


async def connect_all(
    port: int, paths: list[str], samples: array[float], protocol: str | None
) -> list[Client]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(50)

    async def one(path: str) -> Client:
        async with gate:
            host = f"127.0.0.1:{port}"
            _, client = await loop.create_connection(
                lambda: Client(path, host, samples, protocol), "127.0.0.1", port
            )
            await asyncio.wait_for(client.upgraded, 30)
            return client

    return list(await asyncio.gather(*(one(p) for p in paths)))


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one when pid is None)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def run_phase(
    name: str,
    port: int,
    paths: list[str],
    start: Any,
    rate: float,
    seconds: float,
    server_pid: int,
    protocol: str | None,
) -> dict[str, Any]:
    samples: array[float] = array("d")
    t = time.monotonic()
    clients = await connect_all(port, paths, samples, protocol)
    connect_s = time.monotonic() - t
    await asyncio.sleep(0.5)  # let the servers settle after the connection storm
    cpu_server, cpu_clients, wall = cpu_seconds(server_pid), cpu_seconds(), time.monotonic()
    started = time.time()
    await start()
    expected = int(rate * seconds)
    # Wait for the schedule, then as long as messages keep arriving (a writer that fell
    # behind commits late); stop after GRACE_SECONDS without progress, or at a hard cap.
    begun = time.monotonic()
    progress, progress_at = -1, begun
    while time.monotonic() - begun < seconds + HARD_CAP_SECONDS:
        await asyncio.sleep(0.5)
        if all(c.received >= expected for c in clients):
            break
        now = time.monotonic()
        if len(samples) != progress:
            progress, progress_at = len(samples), now
        elif now - begun > seconds and now - progress_at > GRACE_SECONDS:
            break
    wall = time.monotonic() - wall
    cpu_server = cpu_seconds(server_pid) - cpu_server
    cpu_clients = cpu_seconds() - cpu_clients
    for c in clients:
        if c.transport is not None:
            c.transport.abort()
    values = sorted(s * 1000 for s in samples)
    # A message that never arrived (within the grace period) counts as infinitely late,
    # so that falling behind cannot flatter the percentiles.
    ranked = values + [float("inf")] * max(0, expected * len(clients) - len(values))
    short = sum(1 for c in clients if c.received < expected)
    return {
        "name": name,
        "clients": len(clients),
        "connect_s": connect_s,
        "expected": expected * len(clients),
        "received": len(values),
        "short_clients": short,
        "out_of_order": sum(c.out_of_order for c in clients),
        "gaps": sum(c.gaps for c in clients),
        # When the writer took its last message's t0, against the schedule's end.
        "writer_late_s": max(c.last_t0 for c in clients) - (started + seconds),
        "closed": sum(1 for c in clients if c.closed_code is not None),
        "p50": percentile(ranked, 50),
        "p99": percentile(ranked, 99),
        "max": ranked[-1] if ranked else float("nan"),
        "mean": statistics.fmean(values) if values else float("nan"),
        "server_us_per_msg": cpu_server / max(1, len(values)) * 1e6,
        "client_us_per_msg": cpu_clients / max(1, len(values)) * 1e6,
        "server_cpu": cpu_server / wall,
        "client_cpu": cpu_clients / wall,
        "wall": wall,
    }


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"server did not start: {log.read_text()}")


def spawn(args: list[str], tmp: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp / f"{name}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fanout", *args],
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    return proc, log


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


async def prepare_database(db_url: str, clients: int) -> list[str]:
    """Schema, the Guizhou directory and one token per organ; the paths clients open."""
    from sqlalchemy import create_engine

    from app import directory
    from app.clock import SystemClock
    from app.db import Database, sync_url
    from app.models import Base
    from app.workflows import tokens as tokens_wf

    engine = create_engine(sync_url(db_url))
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
    engine.dispose()
    db = Database(db_url)
    tokens = []
    async with db.write() as session:
        await directory.seed(session)
    for org in ORGS:
        async with db.write() as session:
            _, secret = await tokens_wf.issue(
                session,
                org_id=directory.resolve_org_argument(org),
                roles=["viewer"],
                name="bench",
                clock=SystemClock(),
                actor=None,
            )
        tokens.append(secret)
    await db.dispose()
    # after=0: every event of the run, whenever each client's subscription went live.
    return [f"/api/v1/live?after=0&token={tokens[i % len(tokens)]}" for i in range(clients)]


def report(r: dict[str, Any]) -> None:
    print(
        f"{r['name']:<34} clients {r['clients']:>5}  received {r['received']:>8}/{r['expected']:<8}"
        f"  p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms  max {r['max']:7.1f} ms"
        f"  (connect {r['connect_s']:.1f} s, short {r['short_clients']}, "
        f"skipped {r['gaps']}, out of order {r['out_of_order']}, closed {r['closed']})"
    )
    print(
        f"{'':<34} CPU while sending: server {r['server_cpu']:.2f} cores, "
        f"clients {r['client_cpu']:.2f} cores, over {r['wall']:.1f} s; writer finished "
        f"{r['writer_late_s']:+.1f} s from schedule; per message delivered: "
        f"server {r['server_us_per_msg']:.1f} us, clients {r['client_us_per_msg']:.1f} us"
    )


async def orchestrate(clients: int, rate: float, seconds: float, per_event: bool) -> None:
    import httpx

    load = os.getloadavg()[0]
    print(
        f"bench/fanout: {clients} WebSocket clients, {rate:g} events/s for {seconds:g} s "
        f"({int(clients * rate)} messages/s), loopback, {os.cpu_count()} CPUs, "
        f"load average {load:.1f} at start"
    )

    async def post_start(port: int, path: str) -> None:
        async with httpx.AsyncClient() as http:
            r = await http.post(
                f"http://127.0.0.1:{port}{path}", params={"rate": rate, "seconds": seconds}
            )
            r.raise_for_status()

    async def phase(
        name: str, serve: list[str], paths: list[str], start: Any, protocol: str | None = None
    ) -> dict[str, Any]:
        port = free_port()
        proc, log = spawn(["--port", str(port), *serve], tmp, serve[1])
        try:
            wait_port(port, proc, log)
            result = await run_phase(
                name, port, paths, lambda: start(port), rate, seconds, proc.pid, protocol
            )
        finally:
            stop(proc)
        report(result)
        return result

    async def start_bare(port: int) -> None:
        from websockets.asyncio.client import connect

        url = f"ws://127.0.0.1:{port}/start?rate={rate}&seconds={seconds}"
        async with connect(url) as ws:
            await ws.wait_closed()

    with tempfile.TemporaryDirectory(prefix="fabu-fanout-") as tmpdir:
        tmp = Path(tmpdir)
        db_url = f"sqlite+aiosqlite:///{tmp / 'fabu.db'}"
        paths = await prepare_database(db_url, clients)
        fabu = await phase(
            "Fabu WS /live, fabu.live.batch",
            ["--serve", "app", "--db", db_url],
            paths,
            lambda port: post_start(port, "/bench/start"),
            "fabu.live.batch",
        )
        if per_event:  # on a fresh log, since its clients replay from seq 0
            db_url = f"sqlite+aiosqlite:///{tmp / 'fabu-per-event.db'}"
            await phase(
                "Fabu WS /live, fabu.live",
                ["--serve", "app", "--db", db_url],
                await prepare_database(db_url, clients),
                lambda port: post_start(port, "/bench/start"),
                "fabu.live",
            )
        await phase(
            "uvicorn raw ASGI, task per client",
            ["--serve", "asgi"],
            ["/"] * clients,
            lambda port: post_start(port, "/start"),
        )
        bare = await phase(
            "baseline: websockets.broadcast", ["--serve", "bare"], ["/"] * clients, start_bare
        )

    def ratio(key: str) -> str:
        a, b = fabu[key], bare[key]
        return f"{a / b:.2f}x" if 0 < b < float("inf") and a < float("inf") else "n/a"

    print(f"ratio Fabu/baseline: p50 {ratio('p50')}, p99 {ratio('p99')}")
    verdict = "met" if fabu["p99"] < 250 and fabu["received"] == fabu["expected"] else "MISSED"
    print(f"target p99 < 250 ms with every message delivered: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--per-event",
        action="store_true",
        help="also run Fabu with one event per message (subprotocol fabu.live)",
    )
    parser.add_argument("--serve", choices=["app", "asgi", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_fd_limit()
    if args.serve == "app":
        serve_app(args.port, args.db)
    elif args.serve == "asgi":
        serve_asgi(args.port)
    elif args.serve == "bare":
        serve_bare(args.port)
    else:
        run(orchestrate(args.clients, args.rate, args.seconds, args.per_event))


if __name__ == "__main__":
    main()
