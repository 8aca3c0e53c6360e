"""RFC 9457 problem details: every refusal names the field or the article."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                return problem_response(
                    Problem(
                        400,
                        "malformed-json",
                        "Malformed JSON",
                        "The body is not valid JSON: "
                        + str(err.get("ctx", {}).get("error", "parse error")),
                        errors=[{"field": "body", "message": "not valid JSON"}],
                    )
                )
            errors.append({"field": _field_name(tuple(err["loc"])), "message": err["msg"]})
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

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(
            Problem(500, "internal", "Internal error", "Something went wrong on our side.")
        )
