"""Fixtures for live status: real uvicorn servers on loopback ports over the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from app.clock import ManualClock
from app.config import Settings
from tests.live.harness import LiveServer

StartServer = Callable[..., Awaitable[LiveServer]]


@pytest.fixture
async def start_server(
    settings: Settings, db: Any, clock: ManualClock
) -> AsyncIterator[StartServer]:
    """Start one or more instances of the app on the seeded test database.

    Each instance has its own database pool and event loop, as separate processes would;
    the `db` fixture (seeded directory, tokens) writes beside them.
    """
    servers: list[LiveServer] = []

    async def start(**overrides: Any) -> LiveServer:
        server = LiveServer(settings.model_copy(update=overrides), clock)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        await server.stop()
