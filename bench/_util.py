"""Benchmark plumbing: a fresh database, a real uvicorn on a free loopback port, and a load
generator light enough not to be what is measured.

The load generator runs in its own process and speaks just enough HTTP/1.1 over asyncio
streams (keep-alive, Content-Length bodies): on a two-core machine an httpx client would
spend more CPU per request than the no-op endpoint it is measuring.

    with scratch_database(pg=False) as url:
        prepare_database(url)
        token = mint_token(url, "520281", ["reporter"])
        with serve(url, env={"FABU_BENCH_NOOP": "1"}) as server:
            result = run_load(server.port, LoadSpec("POST", "/api/v1/_noop", body=b"{}"),
                              concurrency=32, seconds=5)
        print(result.throughput, result.p50_ms, result.p99_ms)

`python -m bench._util load` is the load generator's own entry point (spec on stdin).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PG_ADMIN_URL = os.environ.get(
    "FABU_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# -- processes and databases -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _pg_admin(statement: str) -> None:
    from sqlalchemy import create_engine, text

    from app.db import sync_url

    engine = create_engine(
        sync_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@contextlib.contextmanager
def scratch_database(*, pg: bool, name: str = "bench") -> Iterator[str]:
    """An empty database for one run, removed afterwards: a temp SQLite file, or a scratch
    PostgreSQL database created beside FABU_BENCH_PG_URL's."""
    if not pg:
        with tempfile.TemporaryDirectory(prefix=f"fabu-{name}-") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'fabu.db'}"
        return
    db = f"fabu_{name}_{os.getpid()}"
    _pg_admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {db}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db
    finally:
        with contextlib.suppress(Exception):
            _pg_admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def cli(url: str, *args: str) -> str:
    """Run the `fabu` CLI on `url`; its standard output."""
    env = {**os.environ, "FABU_DATABASE_URL": url, "FABU_LOG_LEVEL": "warning"}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"fabu {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def prepare_database(url: str) -> None:
    """Migrate to head and seed the directory, as an operator would.

    While the migration lags behind the models (someone added a table and the migration is
    not regenerated yet) the app cannot run on it; then the scratch schema is rebuilt from
    the models instead, and the run says so.
    """
    cli(url, "db", "upgrade")
    drift = schema_drift(url)
    if drift:
        print(
            f"warning: the migration differs from the models in {len(drift)} places "
            "(regenerate it); this run builds the schema from the models instead",
            file=sys.stderr,
        )
        _rebuild_from_models(url)
    cli(url, "seed")


def schema_drift(url: str) -> list[Any]:
    """What autogenerate would add or change to make `url` match the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from app.db import sync_url
    from app.models import Base

    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _rebuild_from_models(url: str) -> None:
    from sqlalchemy import MetaData, create_engine

    from app.db import sync_url
    from app.models import Base

    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            existing = MetaData()
            existing.reflect(conn)
            existing.drop_all(conn)
            Base.metadata.create_all(conn)
    finally:
        engine.dispose()


def mint_token(url: str, org: str, roles: list[str]) -> str:
    return cli(url, "token", "create", "--org", org, "--roles", ",".join(roles)).strip()


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{server.log.read_text()[-4000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{server.base_url}/healthz", timeout=1) as r,
        ):
            if r.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not come up in {timeout} s:\n{server.log.read_text()}")


@contextlib.contextmanager
def serve(
    url: str, *, env: dict[str, str] | None = None, workers: int = 1, timeout: float = 30
) -> Iterator[Server]:
    """The app under uvicorn (uvloop, httptools, no access log) on a free loopback port."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="fabu-server-", suffix=".log")[1])
    full_env = {
        **os.environ,
        "FABU_DATABASE_URL": url,
        "FABU_LOG_LEVEL": "warning",
        **(env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, process, log)
    try:
        _wait_ready(server, timeout)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(OSError):
            log.unlink()


# -- load ----------------------------------------------------------------------------------------


@dataclass
class LoadSpec:
    """One request, sent over and over. With `unique_header`, each request carries that header
    with a value never used before (an Idempotency-Key, say)."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    unique_header: str | None = None


@dataclass
class LoadResult:
    seconds: float
    requests: int
    statuses: dict[str, int]
    latencies: list[float]  # seconds, sorted

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not status.startswith("2"))

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(q / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def run_load(
    port: int, spec: LoadSpec, *, concurrency: int, seconds: float, warmup: float = 0.0
) -> LoadResult:
    """Drive `spec` at `concurrency` connections for `seconds` from a separate process.

    Requests finished during the first `warmup` seconds are not counted.
    """
    order = {
        "port": port,
        "concurrency": concurrency,
        "seconds": seconds,
        "warmup": warmup,
        "spec": {**asdict(spec), "body": spec.body.decode("latin-1")},
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench._util", "load"],
        cwd=ROOT,
        input=json.dumps(order),
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + warmup + 60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr}")
    out = json.loads(done.stdout)
    return LoadResult(out["seconds"], out["requests"], out["statuses"], out["latencies"])


def _request_bytes(spec: dict[str, Any], unique: str | None) -> bytes:
    body: bytes = spec["body"].encode("latin-1")
    lines = [f"{spec['method']} {spec['path']} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{k}: {v}" for k, v in spec["headers"].items()]
    if unique is not None:
        lines.append(f"{spec['unique_header']}: {unique}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    length, chunked, close = 0, False, False
    for line in header_lines:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def _drive(order: dict[str, Any]) -> dict[str, Any]:
    spec = order["spec"]
    fixed = None if spec["unique_header"] else _request_bytes(spec, None)
    start = time.perf_counter()
    measure_from = start + order["warmup"]
    deadline = measure_from + order["seconds"]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    run = f"{os.getpid()}-{int(time.time())}"

    async def worker(w: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, order["port"])
        n = 0
        try:
            while True:
                sent = time.perf_counter()
                if sent >= deadline:
                    return
                n += 1
                request = fixed or _request_bytes(spec, f"{run}-{w}-{n}")
                writer.write(request)
                status, close = await _read_response(reader)
                finished = time.perf_counter()
                if sent >= measure_from and finished <= deadline:
                    latencies.append(finished - sent)
                    key = str(status)
                    statuses[key] = statuses.get(key, 0) + 1
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection(HOST, order["port"])
        finally:
            writer.close()

    await asyncio.gather(*(worker(w) for w in range(order["concurrency"])))
    latencies.sort()
    return {
        "seconds": order["seconds"],
        "requests": len(latencies),
        "statuses": statuses,
        "latencies": latencies,
    }


def _load_main() -> None:
    order = json.load(sys.stdin)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(_drive(order))
    else:
        result = uvloop.run(_drive(order))
    json.dump(result, sys.stdout)


# -- printing ------------------------------------------------------------------------------------


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for i, row in enumerate(rows):
        out.append(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


if __name__ == "__main__":
    if sys.argv[1:] == ["load"]:
        _load_main()
    else:
        sys.exit("usage: python -m bench._util load  (the spec as JSON on stdin)")
