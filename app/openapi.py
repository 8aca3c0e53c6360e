"""The OpenAPI document as the service behaves: bearer tokens and problem+json refusals.

FastAPI's own document knows neither that most operations want a bearer token (so the
"Try it out" of /docs sends none) nor that every refusal is RFC 9457 problem+json (it shows
its HTTPValidationError for 422). `customise(app)` corrects both after FastAPI builds it.

Whether an operation is authenticated is read from its dependencies (does it depend on
`current_principal`?), not from a list of paths, so a new public route is documented as
public without anyone remembering to say so.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant

from app.deps import current_principal
from app.errors import PROBLEM_JSON

SCHEME = "bearerAuth"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
MUTATING = frozenset({"post", "put", "patch", "delete"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": (
        "RFC 9457 problem details. Bad input names each field in `errors`; a refusal by a "
        "rule of the Measures names its `article`. Some problems add members of their own."
    ),
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "Stable per kind of refusal."},
        "title": {"type": "string"},
        "status": {"type": "integer", "description": "The HTTP status code."},
        "detail": {"type": "string", "description": "What was wrong, for a person."},
        "article": {
            "type": "string",
            "description": "The article of the Measures that refuses it.",
            "examples": ["Art. 23"],
        },
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string", "examples": ["event_types[0]"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

DESCRIPTIONS = {
    "400": "The body is not valid JSON.",
    "401": "The bearer token is missing, unknown or revoked.",
    "403": "The token lacks a role this needs, or a rule of the Measures refuses the caller.",
    "404": "No such resource, or it lies outside the caller's jurisdiction.",
    "409": (
        "The resource's state does not allow this now, the Idempotency-Key was used with "
        "another body, or another request changed the resource meanwhile."
    ),
    "413": "The body is larger than the service accepts.",
    "422": "A field is invalid (named in `errors[].field`) or a rule refuses it (`article`).",
}

BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "An API token (`fabu token create`, or POST /api/v1/tokens by an administrator), "
        "sent as `Authorization: Bearer <token>`."
    ),
}


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def authenticated(route: Any) -> bool:
    """Whether the route asks for a bearer token, somewhere in its dependencies."""
    dependant = getattr(route, "dependant", None)
    return dependant is not None and _depends_on(dependant, current_principal)


def _problem(code: str) -> dict[str, Any]:
    return {"description": DESCRIPTIONS[code], "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def _responses_for(method: str, path: str, operation: dict[str, Any], secured: bool) -> list[str]:
    codes = []
    has_body = "requestBody" in operation
    if has_body:
        codes += ["400", "413"]
    if secured:
        codes += ["401", "403"]
    if re.search(r"\{[^}]+\}", path):
        codes.append("404")
    if secured and method in MUTATING:
        codes.append("409")
    if has_body or operation.get("parameters") or "422" in operation.get("responses", {}):
        codes.append("422")
    return codes


def _operation_id(operation: dict[str, Any], methods: Iterable[str], method: str) -> str:
    base = str(operation.get("operationId", ""))
    for other in methods:
        base = base.removesuffix("_" + other.lower())
    return f"{base}_{method}"


def _routes(routes: Iterable[Any]) -> list[Any]:
    """The routes in the document, each with its path as served (an included router's
    prefix applied) and the dependencies it runs with."""
    return [
        r
        for r in routing.iter_route_contexts(list(routes))
        if isinstance(r.original_route, routing.APIRoute) and r.include_in_schema
    ]


def apply(schema: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """Add the bearer scheme and the problem responses to a document FastAPI generated."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SCHEME] = BEARER_SCHEME
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for route in _routes(routes):
        secured = authenticated(route)
        for method in sorted(m.lower() for m in route.methods or ()):
            path_item = schema.get("paths", {}).get(route.path_format, {})
            operation = path_item.get(method)
            if operation is None:
                continue
            if len(route.methods or ()) > 1:
                # The methods of one route (GET and HEAD) share one operation and its id.
                operation = path_item[method] = copy.deepcopy(operation)
                operation["operationId"] = _operation_id(operation, route.methods, method)
            if secured:
                operation["security"] = [{SCHEME: []}]
            else:
                operation.pop("security", None)
            responses = operation.setdefault("responses", {})
            for code in _responses_for(method, route.path_format, operation, secured):
                responses[code] = _problem(code)
    _drop_unused_schemas(schema, ("HTTPValidationError", "ValidationError"))
    return schema


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _drop_unused_schemas(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    """Remove FastAPI's validation error shapes once nothing refers to them any more."""
    schemas = schema.get("components", {}).get("schemas", {})
    others = {k: v for k, v in schemas.items() if k not in names}
    used = set(_refs(schema.get("paths", {}))) | set(_refs(others))
    for name in names:
        if name in schemas and f"#/components/schemas/{name}" not in used:
            del schemas[name]


def customise(app: FastAPI) -> FastAPI:
    """Serve the corrected document at /openapi.json (and so in /docs) from now on."""
    generate = app.openapi
    applied: dict[str, int] = {}

    def openapi() -> dict[str, Any]:
        with warnings.catch_warnings():
            # GET and HEAD of one route share an operation id; `apply` tells them apart.
            warnings.filterwarnings("ignore", message="Duplicate Operation ID", module="fastapi")
            schema = generate()
        if applied.get("id") != id(schema):  # FastAPI builds it again when routes change
            apply(schema, app.routes)
            applied["id"] = id(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
