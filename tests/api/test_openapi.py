"""/openapi.json (and so /docs) says which operations want a bearer token, and documents
refusals as the problem+json the service sends."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.clock import ManualClock
from app.config import Settings
from app.db import Database
from app.errors import PROBLEM_JSON
from app.main import create_app
from tests.conftest import Api

# What anyone may read without a token.
PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/releases/{release_id}"),
    ("head", "/releases/{release_id}"),
    ("get", "/api/v1/warnings/{warning_id}.cap"),
    ("get", "/api/v1/feeds/warnings.atom"),
}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture
async def client(
    settings: Settings, db: Database, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app exactly as app.main builds it: the document it serves is the one corrected."""
    app = create_app(settings, clock=clock, db=db, start_services=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as c:
        yield c


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


async def test_try_it_out_sends_the_token_exactly_where_one_is_asked_for(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    public = set()
    for method, path, op in operations(document):
        # Any id will do: without a token an authenticated operation answers 401 first.
        url = re.sub(r"\{[^}]+\}", "nope", path)
        response = await client.request(method.upper(), url)
        if op.get("security") == [{"bearerAuth": []}]:
            assert response.status_code == 401, f"{method} {path}: {response.status_code}"
            assert response.headers["content-type"] == PROBLEM_JSON
        else:
            assert "security" not in op
            assert response.status_code != 401, f"{method} {path} is documented as public"
            public.add((method, path))
    assert public == PUBLIC


async def test_refusals_are_documented_as_problem_json(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in str(document)
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"article", "errors"} <= set(problem["properties"])
    assert problem["properties"]["errors"]["items"]["required"] == ["field", "message"]
    for method, path, op in operations(document):
        responses = op["responses"]
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                assert response["content"] == {PROBLEM_JSON: {"schema": PROBLEM}}, (method, path)
        where = f"{method} {path}"
        if "security" in op:
            assert {"401", "403"} <= set(responses), where
        if "requestBody" in op:
            assert {"400", "422"} <= set(responses), where
        if "{" in path:
            assert "404" in responses, where
        if "security" in op and method in ("post", "put", "patch", "delete"):
            assert "409" in responses, where
    operation_ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(set(operation_ids)) == len(operation_ids)


async def test_a_refusal_has_the_documented_shape(
    client: httpx.AsyncClient, document: dict[str, Any], api: Api
) -> None:
    admin = await api.token("520000", "admin")
    body = {"url": "https://publisher.example.cn/hook", "channel": "generic"}
    response = await client.post(
        "/api/v1/webhooks", headers=admin, json={**body, "event_types": ["release.publish"]}
    )
    documented = document["paths"]["/api/v1/webhooks"]["post"]["responses"]
    assert str(response.status_code) in documented
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    schema = document["components"]["schemas"]["Problem"]
    assert set(schema["required"]) <= set(problem)
    types = {"string": str, "integer": int, "array": list}
    for name, value in problem.items():
        if name in schema["properties"]:
            assert isinstance(value, types[schema["properties"][name]["type"]]), name
    assert problem["errors"] == [
        {"field": "event_types[0]", "message": problem["errors"][0]["message"]}
    ]
