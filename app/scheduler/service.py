"""(being built) The obligation scheduler."""

from app.runtime import Runtime
from app.services import Service


def factory(rt: Runtime) -> Service | None:
    return None
