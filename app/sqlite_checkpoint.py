"""WAL checkpoints for the SQLite default, on a thread of their own.

SQLite checkpoints its write-ahead log inside whichever commit pushes the log past
`wal_autocheckpoint` pages, with two fsyncs under synchronous=NORMAL. Our SQLite calls run
on the event loop (app.sqlite_inline), so that commit stalled every request for the length
of the checkpoint: intake throughput rose by about 40 % when it moved off the loop.

This service checkpoints PASSIVE (never waiting for readers or writers) once a second from
its own thread and connection, where the file I/O releases the GIL. Connections keep a
high `wal_autocheckpoint` (app.db) as a backstop, so the log stays bounded even when this
service is not running (CLI commands, tests without services).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from sqlalchemy import make_url

from app.runtime import Runtime

logger = logging.getLogger("fabu.sqlite")

INTERVAL_SECONDS = 1.0


class Checkpointer:
    name = "sqlite_checkpoint"

    def __init__(self, path: str, *, interval: float = INTERVAL_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0
        self.last_frames = 0  # WAL frames copied back by the last checkpoint
        self.last_error: str | None = None

    async def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fabu-sqlite-checkpoint")
        self._thread.daemon = True
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    async def health(self) -> dict[str, Any]:
        alive = self._thread is not None and self._thread.is_alive()
        return {
            "ok": alive,
            "checkpoints": self.checkpoints,
            "last_frames": self.last_frames,
            "last_error": self.last_error,
        }

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
        try:
            while not self._stop.wait(self.interval):
                self.checkpoint(conn)
            self.checkpoint(conn)
        finally:
            conn.close()

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            _busy, _log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            logger.warning("WAL checkpoint failed: %s", self.last_error)
            return
        self.checkpoints += 1
        self.last_frames = copied
        self.last_error = None


def factory(rt: Runtime) -> Checkpointer | None:
    if not rt.db.sqlite:
        return None
    path = make_url(rt.db.url).database
    if not path or path == ":memory:":
        return None
    return Checkpointer(path)
