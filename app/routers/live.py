"""WS /live: replay what the client missed, then stream; close codes say why it ended.

The connection is always accepted before a refusal, so that a browser, which never sees the
HTTP status of a failed handshake, can read the close code (README, close codes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from app import metrics
from app.clock import iso
from app.deps import bearer, principal_for_token
from app.events.hub import (
    CLOSE_BAD_REQUEST,
    CLOSE_RESTART,
    CLOSE_SLOW_CONSUMER,
    CLOSE_UNAUTHORIZED,
    CLOSE_UNAVAILABLE,
    Hub,
    Subscriber,
)
from app.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["events"])
logger = logging.getLogger("fabu.live")
CLOSE_INTERNAL = 1011

# A browser cannot set headers on a WebSocket; offering the token as a subprotocol keeps it
# out of URLs and access logs: `Sec-WebSocket-Protocol: fabu.live, fabu.token.<token>`.
SUBPROTOCOL = "fabu.live"
# The same stream with each message a JSON array of the events that were ready together:
# at a thousand dashboards and a hundred events a second, one frame per event is more than
# one process can send (README, Live status).
BATCH_SUBPROTOCOL = "fabu.live.batch"
TOKEN_SUBPROTOCOL = "fabu.token."
# How long a close may wait behind a full send buffer before the socket is simply dropped.
CLOSE_TIMEOUT = 5.0
# Where the app (app.main.Fabu) leaves the server's own `send` for a WebSocket connection.
# Events go out through it: each middleware layer wraps `send` in a coroutine of its own,
# and at a thousand dashboards those wrappers cost more than the frame itself.
RAW_SEND = "fabu.raw_send"


def _offered_token(ws: WebSocket) -> tuple[str | None, str | None]:
    """(token, subprotocol to accept) from the query, the header or the subprotocol list."""
    token = ws.query_params.get("token") or bearer(ws.headers.get("authorization"))
    offered = ws.scope.get("subprotocols") or []
    accept = next((p for p in (BATCH_SUBPROTOCOL, SUBPROTOCOL) if p in offered), None)
    for proto in offered:
        if proto.startswith(TOKEN_SUBPROTOCOL) and token is None:
            token = proto.removeprefix(TOKEN_SUBPROTOCOL) or None
    return token, accept


def _parse_after(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValueError("after must be a non-negative integer (a seq)")
    return int(raw)


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    metrics.inc("fabu_live_closed_total", code=str(code))
    # A stalled client can keep the close frame behind a full buffer; do not wait forever.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code, reason), CLOSE_TIMEOUT)


@router.websocket("/live")
async def live(ws: WebSocket) -> None:
    rt: Runtime = ws.app.state.runtime
    token, subprotocol = _offered_token(ws)
    principal = await principal_for_token(rt, token)
    hub: Hub | None = rt.services.get("hub")
    # Read before accepting: a client that gives no `after` gets everything committed
    # once its handshake is answered, even what it causes itself right after.
    tail = await hub.tail() if hub is not None else 0
    await ws.accept(subprotocol=subprotocol)
    if principal is None:
        detail = "token required" if token is None else "token unknown or revoked"
        await _close(ws, CLOSE_UNAUTHORIZED, detail)
        return
    if hub is None:
        await _close(ws, CLOSE_UNAVAILABLE, "live status is not running in this instance")
        return
    try:
        after = _parse_after(ws.query_params.get("after"))
    except ValueError as exc:
        await _close(ws, CLOSE_BAD_REQUEST, str(exc))
        return
    if after is not None and after > tail:
        tail = await hub.tail()  # it may have seen a commit newer than our first look
    if after is not None and after > tail:
        # A seq that was never written: the client holds a position from another log.
        await _close(ws, CLOSE_BAD_REQUEST, f"after is beyond the end of the log ({tail})")
        return

    sub = hub.subscribe(principal)
    start = tail if after is None else after
    batched = subprotocol == BATCH_SUBPROTOCOL
    pump = asyncio.create_task(_pump(ws, rt, hub, sub, start, batched=batched))
    listen = asyncio.create_task(_until_disconnect(ws))
    try:
        done, _ = await asyncio.wait({pump, listen}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.unsubscribe(sub)
        for task in (pump, listen):
            task.cancel()
        for task in (pump, listen):
            # Their outcome is read below; here they only have to be finished.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if pump not in done or pump.cancelled():
        return
    failure = pump.exception()
    if failure is None:
        code, reason = pump.result()
        await _close(ws, code, reason)
    elif not isinstance(failure, WebSocketDisconnect | OSError):
        logger.error("live stream failed", exc_info=failure)
        # The client resumes from its last seq like after any other close.
        await _close(ws, CLOSE_INTERNAL, "internal error; reconnect with after=<last seq>")


async def _until_disconnect(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return


def _ping(now: datetime, position: int, interval: float) -> str:
    return json.dumps(
        {"type": "ping", "at": iso(now), "last_seq": position, "interval": interval},
        separators=(",", ":"),
    )


async def _pump(
    ws: WebSocket, rt: Runtime, hub: Hub, sub: Subscriber, after: int, *, batched: bool
) -> tuple[int, str]:
    """Replay, then stream; returns the close code and reason when the stream must end."""
    raw_send = ws.scope.get(RAW_SEND)
    if raw_send is None:  # mounted in another app: the ordinary way
        raw_send = ws.send

    async def send(texts: list[str]) -> None:
        if batched:
            await raw_send({"type": "websocket.send", "text": "[" + ",".join(texts) + "]"})
            return
        for text in texts:
            if sub.overflowed or sub.stopping:
                return
            await raw_send({"type": "websocket.send", "text": text})

    async for page in hub.replay(sub, after):
        await send(page)
    # Every event visible to this client up to `position` has been sent.
    position = sub.live_from if sub.live_from is not None else after
    while True:
        batch = await sub.next()
        # Read in the same step as the queue was emptied: every visible event up to the
        # hub's position is in this batch.
        reached = hub.last_seq
        if batch and not (sub.overflowed or sub.stopping):
            await send([text for _, text in batch])
        if sub.overflowed:
            return CLOSE_SLOW_CONSUMER, "too far behind; reconnect with after=<last seq>"
        if sub.stopping:
            return CLOSE_RESTART, "instance stopping; reconnect with after=<last seq>"
        if sub.revoked:
            # Revoking a token ends its streams too, within one ping interval.
            return CLOSE_UNAUTHORIZED, "token revoked"
        position = max(position, reached)
        if sub.ping_due:
            sub.ping_due = False
            interval = rt.settings.ws_ping_seconds
            await ws.send_text(_ping(rt.clock.now(), position, interval))
