"""Refuse bodies over the limit before reading them whole (413, problem+json)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Problem, problem_response


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"larger than {self.max_bytes} bytes"
        problem = Problem(
            413,
            "content-too-large",
            "Content too large",
            f"The body is {detail}.",
            errors=[{"field": "body", "message": detail}],
        )
        await problem_response(problem)(scope, receive, send)


class _TooLarge(HTTPException):
    """A body without a declared length grew past the limit while being read.

    An HTTPException, so that FastAPI's body reader passes it on as it is (any other
    error there becomes a 400) and the exception handler answers 413; a read outside a
    route still ends in the `except` above.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The body is larger than {max_bytes} bytes.")
