"""The press-office desk: server-rendered pages where signed-in people do the Measures' work.

Every page reads and writes through the same workflows and access rules as the JSON API; the
desk only renders. A page that needs a person sends whoever has no session to sign in first,
and brings them back to where they were going.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from app.desk import home
from app.desk.auth import SignInRequired

router = APIRouter(include_in_schema=False)
router.include_router(home.router, prefix="/desk")


def install(app: FastAPI) -> None:
    app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _to_sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(exc.location, status_code=303)
