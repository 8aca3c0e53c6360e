"""Who is at the desk: the signed-in person (or, for systems and tests, a bearer token)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from app.auth import Principal
from app.deps import RuntimeDep, current_principal
from app.errors import Problem

# Headers every desk page carries: its own scripts only, no framing, no referrer leaks.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """No valid session: the person is sent to sign in, and back here afterwards."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.location = "/signin?next=" + quote(next_path, safe="/")


async def desk_principal(request: Request, rt: RuntimeDep) -> Principal:
    try:
        principal = await current_principal(request, rt)
    except Problem as refused:
        if refused.status != 401:
            raise
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target) from None
    request.state.principal = principal
    return principal


DeskPrincipal = Annotated[Principal, Depends(desk_principal)]
