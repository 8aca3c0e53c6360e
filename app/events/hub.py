"""(being built) The WebSocket hub."""

from app.runtime import Runtime
from app.services import Service


def factory(rt: Runtime) -> Service | None:
    return None
