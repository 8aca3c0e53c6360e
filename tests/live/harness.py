"""A real uvicorn serving the app on a loopback port, and helpers to drive it."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
import websockets
from websockets.asyncio.client import ClientConnection

from app import directory
from app.clock import Clock, iso
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.workflows import tokens as tokens_wf


class LiveServer:
    """The app on uvicorn in a thread of its own, with its own event loop and database pool,
    as `fabu serve` would run it; stopped gracefully so the hub shuts down as in production."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.app = create_app(settings, clock=clock)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, after: int | None = None, token: str | None = None) -> str:
        query = []
        if after is not None:
            query.append(f"after={after}")
        if token is not None:
            query.append(f"token={token}")
        return f"ws://127.0.0.1:{self.port}/api/v1/live" + ("?" + "&".join(query) if query else "")

    async def start(self) -> None:
        self._thread.start()
        for _ in range(500):
            if self.server.started:
                return
            if not self._thread.is_alive():
                raise RuntimeError("uvicorn exited during start-up")
            await asyncio.sleep(0.02)
        raise RuntimeError("uvicorn did not start in 10 s")

    async def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self.server.should_exit = True
        await asyncio.to_thread(self._thread.join, 15)
        self._sock.close()

    @property
    def hub(self) -> Any:
        return self.app.state.runtime.services.get("hub")


def sqlite_only(tmp_path: Path) -> str:
    """A fresh SQLite database, for a module whose `db_url` need not run on both backends."""
    from tests.conftest import reset_schema

    url = f"sqlite+aiosqlite:///{tmp_path / 'fabu.db'}"
    reset_schema(url)
    return url


async def mint(db: Database, clock: Clock, org: str, *roles: str) -> tuple[str, str]:
    """A token for `org` (organ id or division code) with `roles`: (secret, token id)."""
    async with db.write() as session:
        token, secret = await tokens_wf.issue(
            session,
            org_id=directory.resolve_org_argument(org),
            roles=list(roles),
            name="live test",
            clock=clock,
            actor=None,
        )
    return secret, token.id


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def incident_body(
    now: datetime, code: str, title: str, *, deaths: int = 12, **extra: Any
) -> dict[str, Any]:
    """A coal-mine accident; 12 dead is level II (Decree 493), so Art. 23 clocks open."""
    return {
        "category": "accident",
        "subtype": "mining",
        "title": title,
        "occurred_at": iso(now - timedelta(minutes=20)),
        "division_codes": [code],
        "place": "test mine",
        "figures": {"deaths": deaths},
        **extra,
    }


async def recv_json(ws: ClientConnection, within: float = 10.0) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), within)
    message: dict[str, Any] = json.loads(raw)
    return message


async def recv_events(
    ws: ClientConnection,
    until: Callable[[list[dict[str, Any]]], bool],
    within: float = 15.0,
) -> list[dict[str, Any]]:
    """Events (pings skipped) until `until(events)` holds; fails after `within` s."""
    got: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + within
    while not until(got):
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"timed out; received {[e['seq'] for e in got]}")
        message: Any = json.loads(await asyncio.wait_for(ws.recv(), left))
        if isinstance(message, list):  # fabu.live.batch: the events ready together
            got += message
        elif message.get("type") != "ping":
            got.append(message)
    return got


async def close_code(ws: ClientConnection, within: float = 10.0) -> int | None:
    """Read until the server closes; the close code it sent."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), within)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)
