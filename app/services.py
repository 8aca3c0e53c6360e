"""Background services derived from the database: each starts with the app and stops with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.runtime import Runtime


class Service(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


# Each factory returns a service, or None when settings switch it off.
FACTORIES: list[Callable[[Runtime], Service | None]] = []


def register(factory: Callable[[Runtime], Service | None]) -> Callable[[Runtime], Service | None]:
    FACTORIES.append(factory)
    return factory
