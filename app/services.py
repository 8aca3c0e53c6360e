"""Background services derived from the database: each starts with the app and stops with it."""

from __future__ import annotations

from typing import Protocol


class Service(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
