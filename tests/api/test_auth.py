"""Who may do what, and see what (API.md, Auth; RULES §6)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from app.auth import Role, hash_token
from app.deps import principal_for_token
from app.models import ApiToken
from app.workflows import tokens as tokens_wf
from tests.api.helpers import (
    GUIYANG,
    GUIZHOU,
    HONGHUAGANG,
    INCIDENTS,
    LIUPANSHUI,
    NANMING,
    PANZHOU,
    ZUNYI,
    assert_problem,
    create,
    stored_counts,
)
from tests.conftest import Api

ALL_ROLES = [r.value for r in Role]


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # {incident} and {token} are filled in per test
    body: dict[str, Any] | None
    roles: frozenset[str]  # the roles that may call it; the others get 403
    status: int


def _every(*, but: tuple[str, ...] = ()) -> frozenset[str]:
    return frozenset(ALL_ROLES) - set(but)


ENDPOINTS = [
    Endpoint(
        "report an incident",
        "POST",
        INCIDENTS,
        {
            "category": "accident",
            "subtype": "mining",
            "title": "新报",
            "occurred_at": "2026-11-27T01:30:00Z",
            "division_codes": [PANZHOU],
        },
        frozenset({"reporter"}),
        201,
    ),
    Endpoint("list incidents", "GET", INCIDENTS, None, _every(), 200),
    Endpoint("read an incident", "GET", INCIDENTS + "/{incident}", None, _every(), 200),
    Endpoint("read a timeline", "GET", INCIDENTS + "/{incident}/timeline", None, _every(), 200),
    Endpoint(
        "send a situation report",
        "POST",
        INCIDENTS + "/{incident}/reports",
        {"figures": {"deaths": 11}},
        frozenset({"reporter"}),
        200,
    ),
    Endpoint(
        "establish an on-site command",
        "POST",
        INCIDENTS + "/{incident}/command",
        {"action": "establish"},
        frozenset({"reporter", "approver", "info_office"}),
        200,
    ),
    Endpoint(
        "escalate",
        "POST",
        INCIDENTS + "/{incident}/escalation",
        {"reason": "省政府统一发布"},
        frozenset({"info_office"}),
        200,
    ),
    Endpoint(
        "override the classification",
        "POST",
        INCIDENTS + "/{incident}/classification",
        {"level": "III", "reason": "核实后下调"},
        frozenset({"approver", "info_office"}),
        200,
    ),
    Endpoint(
        "close",
        "POST",
        INCIDENTS + "/{incident}/close",
        {"reason": "处置结束"},
        frozenset({"reporter", "approver", "info_office"}),
        200,
    ),
    Endpoint(
        "mint a token",
        "POST",
        "/api/v1/tokens",
        {"org_id": f"gov-{PANZHOU}", "roles": ["reporter"], "name": "盘州报告"},
        frozenset({"admin"}),
        201,
    ),
    Endpoint("list tokens", "GET", "/api/v1/tokens", None, frozenset({"admin"}), 200),
    Endpoint("revoke a token", "DELETE", "/api/v1/tokens/{token}", None, frozenset({"admin"}), 204),
    Endpoint("who am I", "GET", "/api/v1/me", None, _every(), 200),
    Endpoint("list organs", "GET", "/api/v1/orgs", None, _every(), 200),
    Endpoint("read an organ", "GET", f"/api/v1/orgs/gov-{PANZHOU}", None, _every(), 200),
    Endpoint("read a division", "GET", f"/api/v1/divisions/{PANZHOU}", None, _every(), 200),
]


async def _mint(api: Api, org: str, *roles: str) -> tuple[str, dict[str, str]]:
    """A token's id and its header."""
    async with api.db.write() as session:
        token, secret = await tokens_wf.issue(
            session, org_id=org, roles=list(roles), name="t", clock=api.clock, actor=None
        )
    return token.id, {"Authorization": f"Bearer {secret}"}


async def _call(
    api: Api, endpoint: Endpoint, headers: dict[str, str], *, incident: str, token: str
) -> Any:
    path = endpoint.path.format(incident=incident, token=token)
    return await api.client.request(endpoint.method, path, headers=headers, json=endpoint.body)


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.name) for e in ENDPOINTS])
async def test_each_role_may_call_only_its_endpoints(
    api: Api, endpoint: Endpoint, role: str
) -> None:
    # The Liupanshui prefecture government: its jurisdiction covers the Panzhou incident
    # and the Panzhou organs whose tokens an admin there manages.
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter, figures={"deaths": 10})
    victim, _ = await _mint(api, f"gov-{PANZHOU}", "viewer")
    _, headers = await _mint(api, f"gov-{LIUPANSHUI}", role)
    before = await stored_counts(api.db)

    response = await _call(api, endpoint, headers, incident=incident["id"], token=victim)
    if role in endpoint.roles:
        assert response.status_code == endpoint.status, response.text
    else:
        assert_problem(response, 403)
        needed, _, held = response.json()["detail"].partition("; this token has: ")
        assert role not in needed.split(": ")[-1]
        assert held == f"{role}."
        assert await stored_counts(api.db) == before


BAD_AUTHORIZATIONS = [
    None,  # no header
    "Bearer fabu_not-a-real-token",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
]


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.name) for e in ENDPOINTS])
async def test_without_a_valid_token_every_endpoint_answers_401(
    api: Api, endpoint: Endpoint
) -> None:
    reporter = await api.token(PANZHOU, "reporter")
    incident = await create(api, reporter)
    before = await stored_counts(api.db)
    for authorization in BAD_AUTHORIZATIONS:
        headers = {"Authorization": authorization} if authorization is not None else {}
        response = await _call(api, endpoint, headers, incident=incident["id"], token="tok_x")
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    assert await stored_counts(api.db) == before


async def test_a_token_sent_without_its_scheme_is_told_the_form(api: Api) -> None:
    # The usual slip: the bare token in the header, as if it were the whole credential.
    bearer = await api.token(PANZHOU, "viewer")
    token = bearer["Authorization"].removeprefix("Bearer ")
    for authorization in (token, f"Token {token}", "Basic dXNlcjpwYXNz"):
        response = await api.get("/api/v1/me", {"Authorization": authorization})
        assert_problem(response, 401)
        assert response.json()["detail"] == "Authorization must be 'Bearer <token>'."
    missing = await api.get("/api/v1/me", {})
    assert_problem(missing, 401)
    assert missing.json()["detail"] == "A bearer token is required."
    assert (await api.get("/api/v1/me", bearer)).status_code == 200


async def test_a_revoked_token_stops_working_at_once(api: Api) -> None:
    admin = await api.token(LIUPANSHUI, "admin")
    minted = await api.post(
        "/api/v1/tokens", admin, json={"org_id": f"gov-{PANZHOU}", "roles": ["reporter"]}
    )
    assert minted.status_code == 201
    panzhou = {"Authorization": f"Bearer {minted.json()['token']}"}
    assert (await api.get("/api/v1/me", panzhou)).status_code == 200

    revoked = await api.client.delete(f"/api/v1/tokens/{minted.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    assert_problem(await api.get("/api/v1/me", panzhou), 401)
    assert_problem(await api.get(INCIDENTS, panzhou), 401)
    # Revoking twice finds nothing to revoke.
    again = await api.client.delete(f"/api/v1/tokens/{minted.json()['id']}", headers=admin)
    assert_problem(again, 404)
    listed = (await api.get("/api/v1/tokens", admin)).json()["items"]
    mine = next(t for t in listed if t["id"] == minted.json()["id"])
    assert mine["revoked_at"] == "2026-11-27T02:00:00Z"


async def test_a_token_is_shown_once_and_stored_only_as_its_hash(api: Api) -> None:
    admin = await api.token(GUIZHOU, "admin")
    minted = await api.post(
        "/api/v1/tokens",
        admin,
        json={"org_id": f"io-{GUIYANG}", "roles": ["drafter", "approver"], "name": "贵阳新闻办"},
    )
    assert minted.status_code == 201
    body = minted.json()
    secret = body["token"]
    assert len(secret) >= 40
    assert {k: body[k] for k in ("org_id", "roles", "name")} == {
        "org_id": f"io-{GUIYANG}",
        "roles": ["approver", "drafter"],
        "name": "贵阳新闻办",
    }

    async with api.db.read() as session:
        row = await session.get(ApiToken, body["id"])
        assert row is not None
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        for column in ApiToken.__table__.columns:
            assert secret not in str(getattr(row, column.key))
        every_hash = (await session.execute(select(ApiToken.token_hash))).scalars().all()
        assert secret not in every_hash

    listed = await api.get("/api/v1/tokens", admin)
    assert secret not in listed.text
    assert all("token" not in t for t in listed.json()["items"])


async def test_an_admin_mints_tokens_only_for_organs_in_its_jurisdiction(api: Api) -> None:
    county_admin = await api.token(HONGHUAGANG, "admin")  # a district of Zunyi
    before = await stored_counts(api.db)
    for outside in (f"gov-{NANMING}", f"io-{GUIYANG}", f"gov-{ZUNYI}", "dept-public_security"):
        response = await api.post(
            "/api/v1/tokens", county_admin, json={"org_id": outside, "roles": ["admin"]}
        )
        assert_problem(response, 422, "org_id")
    assert await stored_counts(api.db) == before
    inside = await api.post(
        "/api/v1/tokens", county_admin, json={"org_id": f"io-{HONGHUAGANG}", "roles": ["viewer"]}
    )
    assert inside.status_code == 201

    # Nor does it see or revoke another prefecture's tokens.
    other_id, _ = await _mint(api, f"gov-{NANMING}", "reporter")
    listed = (await api.get("/api/v1/tokens", county_admin)).json()["items"]
    assert other_id not in [t["id"] for t in listed]
    assert {t["org_id"] for t in listed} <= {f"gov-{HONGHUAGANG}", f"io-{HONGHUAGANG}"}
    refused = await api.client.delete(f"/api/v1/tokens/{other_id}", headers=county_admin)
    assert_problem(refused, 404)


async def test_bad_token_requests_name_the_field(api: Api) -> None:
    admin = await api.token(GUIZHOU, "admin")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"org_id": "gov-999999", "roles": ["viewer"]}, "org_id"),
        ({"org_id": f"gov-{PANZHOU}", "roles": ["superuser"]}, "roles[0]"),
        ({"org_id": f"gov-{PANZHOU}", "roles": []}, "roles"),
        ({"roles": ["viewer"]}, "org_id"),
    ]
    before = await stored_counts(api.db)
    for body, field in cases:
        assert_problem(await api.post("/api/v1/tokens", admin, json=body), 422, field)
    assert await stored_counts(api.db) == before


async def test_me_names_the_organ_its_roles_and_its_jurisdiction(api: Api) -> None:
    liupanshui = await api.token(LIUPANSHUI, "viewer", "approver")
    me = (await api.get("/api/v1/me", liupanshui)).json()
    assert me["org"] == {
        "id": f"gov-{LIUPANSHUI}",
        "name_zh": "六盘水市人民政府",
        "name_en": "Liupanshui City People's Government",
        "kind": "government",
        "division_code": LIUPANSHUI,
        "parent_id": f"gov-{GUIZHOU}",
    }
    assert me["roles"] == ["approver", "viewer"]
    assert me["jurisdiction"] == ["520200", "520201", "520203", "520204", "520281"]

    department = await api.token("dept-health_commission", "viewer")
    assert len((await api.get("/api/v1/me", department)).json()["jurisdiction"]) == 99


# -- jurisdiction ---------------------------------------------------------------------------


async def test_a_zunyi_county_cannot_see_or_touch_a_guiyang_incident(api: Api) -> None:
    guiyang = await api.token(GUIYANG, "reporter")
    incident = await create(api, guiyang, division_codes=[NANMING], figures={"deaths": 10})
    url = f"{INCIDENTS}/{incident['id']}"
    zunyi_county = await api.token(HONGHUAGANG, *ALL_ROLES)
    before = await stored_counts(api.db)

    assert_problem(await api.get(url, zunyi_county), 404)
    assert_problem(await api.get(f"{url}/timeline", zunyi_county), 404)
    writes = [
        ("reports", {"figures": {"deaths": 40}}),
        ("command", {"action": "establish"}),
        ("escalation", {"reason": "x"}),
        ("classification", {"level": "IV", "reason": "x"}),
        ("close", {"reason": "x"}),
    ]
    for action, body in writes:
        response = await api.post(f"{url}/{action}", zunyi_county, json=body)
        assert_problem(response, 404)
        # Indistinguishable from an incident that does not exist.
        absent = await api.post(f"{INCIDENTS}/inc_absent/{action}", zunyi_county, json=body)
        assert response.json() == absent.json()
    listed = await api.get(INCIDENTS, zunyi_county)
    assert listed.json()["items"] == []
    filtered = await api.get(f"{INCIDENTS}?division={NANMING}", zunyi_county)
    assert filtered.json()["items"] == []
    assert await stored_counts(api.db) == before


async def test_a_prefecture_sees_its_counties_and_the_province_sees_all(api: Api) -> None:
    province = await api.token(GUIZHOU, "reporter")
    nanming = await create(api, province, division_codes=[NANMING])
    panzhou = await create(api, province, division_codes=[PANZHOU])

    async def visible(org: str) -> set[str]:
        headers = await api.token(org, "viewer")
        listed = {i["id"] for i in (await api.get(INCIDENTS, headers)).json()["items"]}
        for incident in (nanming, panzhou):
            status = (await api.get(f"{INCIDENTS}/{incident['id']}", headers)).status_code
            assert status == (200 if incident["id"] in listed else 404), org
        return listed

    assert await visible(GUIYANG) == {nanming["id"]}
    assert await visible(f"io-{GUIYANG}") == {nanming["id"]}
    assert await visible(NANMING) == {nanming["id"]}
    assert await visible(LIUPANSHUI) == {panzhou["id"]}
    assert await visible(ZUNYI) == set()
    assert await visible(GUIZHOU) == {nanming["id"], panzhou["id"]}
    assert await visible(f"io-{GUIZHOU}") == {nanming["id"], panzhou["id"]}
    for department in ("emergency_management", "natural_resources", "health_commission"):
        assert await visible(f"dept-{department}") == {nanming["id"], panzhou["id"]}


async def test_a_county_cannot_report_for_another_county(api: Api) -> None:
    panzhou = await api.token(PANZHOU, "reporter")
    before = await stored_counts(api.db)
    response = await api.post(
        INCIDENTS,
        panzhou,
        json={
            "category": "accident",
            "title": "越界",
            "occurred_at": "2026-11-27T01:00:00Z",
            "division_codes": [NANMING],
        },
    )
    assert_problem(response, 403, "division_codes[0]")
    assert await stored_counts(api.db) == before


async def test_a_lookup_that_raced_a_revocation_is_not_remembered(api: Api) -> None:
    """A request authenticated just before a revocation committed may finish, but what it
    read is not kept: the next request with that token is refused."""
    admin = await api.token(LIUPANSHUI, "admin")
    minted = await api.post(
        "/api/v1/tokens", admin, json={"org_id": f"gov-{PANZHOU}", "roles": ["viewer"]}
    )
    secret, key = minted.json()["token"], hash_token(minted.json()["token"])
    rt = api.client._transport.app.state.runtime  # type: ignore[attr-defined]
    cache = rt.principal_cache

    principal = await principal_for_token(rt, secret, cached=True)
    assert principal is not None and cache.get(key) == principal
    started = cache.generation  # a second lookup of the token begins here ...
    revoked = await api.client.delete(f"/api/v1/tokens/{minted.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    assert cache.get(key) is None
    cache.put(key, principal, generation=started)  # ... and finishes after the revocation
    assert cache.get(key) is None
    assert_problem(await api.get("/api/v1/me", {"Authorization": f"Bearer {secret}"}), 401)
