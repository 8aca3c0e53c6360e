"""RFC 9457 problem details: every refusal names the field or the article."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("fabu.errors")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://fabu.gov.cn/problems/"


class Problem(Exception):
    """A refusal with a stable type, a human detail and, where a rule refused, its article."""

    def __init__(
        self,
        status: int,
        type_: str,
        title: str,
        detail: str,
        *,
        article: str | None = None,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type = type_
        self.title = title
        self.detail = detail
        self.article = article
        self.errors = errors
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        if self.article:
            body["article"] = self.article
        body.update(self.extra)
        return body


def not_found(what: str = "resource") -> Problem:
    # Outside the caller's jurisdiction looks the same as absent (API.md, Auth).
    return Problem(404, "not-found", "Not found", f"No such {what}.")


def invalid(field: str, message: str, *, article: str | None = None) -> Problem:
    return Problem(
        422,
        "validation-error",
        "Invalid request",
        f"{field}: {message}",
        article=article,
        errors=[{"field": field, "message": message}],
    )


def conflict(type_: str, detail: str, **extra: Any) -> Problem:
    return Problem(409, type_, "Conflict", detail, extra=extra)


def forbidden(detail: str, *, article: str | None = None, **extra: Any) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail, article=article, extra=extra)


def problem_response(problem: Problem) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return JSONResponse(
        problem.body(), status_code=problem.status, media_type=PROBLEM_JSON, headers=headers
    )


# Where pydantic says a value came from; the rest of `loc` is the path inside it.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})
TIME_EXAMPLE = "e.g. 2026-11-28T10:00:00+08:00 or 2026-11-28T02:00:00Z"
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "model_type", "dict_type"})


def field_path(loc: Sequence[Any]) -> str:
    """`loc` as one path in one style: `speakers[1].org_id`, `figures.deaths`, or `body`."""
    parts = list(loc[1:] if loc and loc[0] in _SOURCES else loc)
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for a dict key: the message says so
            path += f".{part}" if path else str(part)
    return path or "body"


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _unwrap(annotation: Any) -> list[Any]:
    """The types a field's value may take, looking through Optional, unions, Annotated and
    containers, so that a path can be followed into nested models."""
    args = get_args(annotation)
    if get_origin(annotation) is Annotated:
        return _unwrap(args[0])
    if not args:
        return [annotation]
    return [t for arg in args for t in _unwrap(arg)]


def _model_at(model: Any, path: Sequence[Any]) -> type[BaseModel] | None:
    """The model whose fields `path` (a location inside `model`'s input) ends among."""
    current = _unwrap(model)
    for part in path:
        if isinstance(part, int):
            continue  # a list index: the item type is already among the unwrapped ones
        found = [m for m in current if isinstance(m, type) and issubclass(m, BaseModel)]
        fields = [m.model_fields[part] for m in found if part in m.model_fields]
        if not fields:
            return None
        current = [t for f in fields for t in _unwrap(f.annotation)]
    models = [m for m in current if isinstance(m, type) and issubclass(m, BaseModel)]
    return models[0] if len(models) == 1 else None


def _body_model(request: Request) -> Any:
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    return field.field_info.annotation if field is not None else None


def _message(request: Request, err: dict[str, Any]) -> str:
    """Pydantic's message, put in words a caller can act on where it is too terse."""
    kind, loc = err.get("type"), tuple(err["loc"])
    if kind in _NOT_AN_OBJECT and loc == ("body",):
        if not _is_json(request.headers.get("content-type")):
            # curl -d sends application/x-www-form-urlencoded unless told otherwise.
            return "send the body as JSON with Content-Type: application/json"
        return "the body must be a JSON object"
    if kind == "missing" and loc == ("body",):
        return "a JSON body is required"
    if kind == "timezone_aware":
        return f"needs a UTC offset ({TIME_EXAMPLE})"
    if kind == "extra_forbidden":
        message = f"unknown field {str(loc[-1])!r}"
        model = _model_at(_body_model(request), loc[1:-1]) if loc[0] == "body" else None
        if model is not None:
            message += "; expected one of: " + ", ".join(model.model_fields)
        return message
    if loc and loc[-1] == "[key]":
        return f"key: {err['msg']}"
    return str(err["msg"])


def _malformed_json(exc: RequestValidationError, err: dict[str, Any]) -> Problem:
    reason = str(err.get("ctx", {}).get("error", "parse error"))
    doc, loc = exc.body, err.get("loc", ())
    pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    if isinstance(doc, str) and pos is not None:
        line = doc.count("\n", 0, pos) + 1
        column = pos - doc.rfind("\n", 0, pos)
        reason += f" at line {line}, column {column}"
    return Problem(
        400,
        "malformed-json",
        "Malformed JSON",
        f"The body is not valid JSON: {reason}.",
        errors=[{"field": "body", "message": f"not valid JSON: {reason}"}],
    )


class _LastResort:
    """Answers an error no handler took with a 500 problem and logs it once.

    Starlette's own catch-all re-raises after answering, so the server logged the same
    traceback a second time; here it stops. An error after the answer has started cannot be
    answered any more and is left to the server, which logs it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except StarletteHTTPException:
            raise  # the body limit's refusal outside a route: app.limits answers it
        except Exception:
            if started:
                raise
            log.exception("unhandled error on %s %r", scope.get("method"), scope.get("path"))
            problem = Problem(
                500, "internal", "Internal error", "Something went wrong on our side."
            )
            await problem_response(problem)(scope, receive, send)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                return problem_response(_malformed_json(exc, err))
            errors.append(
                {"field": field_path(tuple(err["loc"])), "message": _message(request, err)}
            )
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(
            Problem(422, "validation-error", "Invalid request", detail, errors=errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {
            400: "Malformed body",
            404: "Not found",
            405: "Method not allowed",
            413: "Content too large",
        }.get(exc.status_code, "Error")
        errors = None
        if exc.status_code in (400, 413):
            # Only the body reader raises these here: the body itself is what is wrong.
            errors = [{"field": "body", "message": str(exc.detail)}]
        return problem_response(
            Problem(
                exc.status_code,
                title.lower().replace(" ", "-"),
                title,
                str(exc.detail),
                errors=errors,
            )
        )

    @app.exception_handler(StaleDataError)
    async def _stale(_: Request, exc: StaleDataError) -> JSONResponse:
        # Two writers raced on one row: the loser learns it and can reload and retry.
        return problem_response(
            conflict("concurrent-update", "The resource changed while this request ran; reload.")
        )

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value (PostgreSQL keeps no NUL in text, for one) that
        # validation let through: the caller's input, so a 422 rather than a 500. The
        # driver's words go to the log only; they may quote the statement.
        said = str(exc.orig).splitlines()
        log.warning(
            "refused a value the database cannot store on %s %r: %s: %s",
            request.method,
            request.url.path,
            type(exc.orig).__name__,
            said[0] if said else "",
        )
        return problem_response(
            Problem(
                422,
                "unstorable-value",
                "Invalid request",
                "The request holds a value the database cannot store.",
            )
        )

    # Outermost but for the body limit and Starlette's own catch-all (see _LastResort).
    app.add_middleware(_LastResort)
