"""A publisher's webhook endpoint on loopback that checks every signature, as a real one would.

A plain `http.server` in a thread: nothing shared with the code under test but HTTP. Each
subscription posts to its own path; the receiver verifies the Standard Webhooks signature
with the secret registered for that path (the `standardwebhooks` package, receiver side).
Tests script the answers: `answer(path) -> (status, headers, body)`; `stop()` takes the
port down so that connections are refused, `start()` brings it back on the same port.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: str
    verified: bool
    error: str | None

    @property
    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.raw)
        return data

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    secrets: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    # Every request, including those answered with an error.
    requests: list[str] = field(default_factory=list)
    answer: Callable[[str], Answer] = lambda _path: (200, {}, b"ok")
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # One request per connection: once stop() returns, nothing answers any more.
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length).decode("utf-8")
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._record(self.path, headers, raw)
                status, extra, body = receiver.answer(self.path)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                with receiver._lock:
                    receiver.requests.append(self.path)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _record(self, path: str, headers: dict[str, str], raw: str) -> None:
        secret = self.secrets.get(path)
        verified: bool = False
        error: str | None = "no secret registered for this path"
        if secret is not None:
            try:
                Webhook(secret).verify(raw, headers)
                verified, error = True, None
            except WebhookVerificationError as exc:
                error = str(exc)
        with self._lock:
            self.requests.append(path)
            self.received.append(Received(path, headers, raw, verified, error))

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def ids(self, path: str) -> set[str]:
        return {r.webhook_id for r in self.at(path)}
