"""Administrators subscribe publishers; the secret is shown once; bad URLs are refused."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from app.clock import ManualClock
from app.config import Settings
from app.db import Database
from app.events import log
from app.main import create_app
from app.models.webhooks import WebhookSubscription
from app.routers.webhooks import url_resolver
from tests.conftest import Api
from tests.webhooks.conftest import WEBHOOKS


def hook(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "url": "https://publisher.example.cn/fabu/wechat",
        "channel": "wechat",
        "event_types": ["release.published"],
    }
    body.update(overrides)
    return body


async def test_the_secret_is_shown_once_and_never_again(api: Api, admin: dict[str, str]) -> None:
    response = await api.post(WEBHOOKS, admin, json=hook())
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert created["active"] is True
    assert created["org_id"] == "gov-520000"  # the caller's organ by default
    assert created["channel"] == "wechat"

    shown = (await api.get(f"{WEBHOOKS}/{created['id']}", admin)).json()
    assert "secret" not in shown
    listed = (await api.get(WEBHOOKS, admin)).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert all("secret" not in w for w in listed)


async def test_publisher_channels_receive_releases_by_default(
    api: Api, admin: dict[str, str]
) -> None:
    body = hook()
    del body["event_types"]
    created = (await api.post(WEBHOOKS, admin, json=body)).json()
    assert created["event_types"] == ["release.published"]


async def test_only_administrators_manage_webhooks(api: Api) -> None:
    drafter = await api.token("520000", "drafter", "info_office")
    assert (await api.post(WEBHOOKS, drafter, json=hook())).status_code == 403
    assert (await api.get(WEBHOOKS, drafter)).status_code == 403
    assert (await api.post(WEBHOOKS, {}, json=hook())).status_code == 401


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("url", "ftp://publisher.example.cn/hook", "only http and https"),
        ("url", "https://user:pw@publisher.example.cn/hook", "credentials"),
        ("url", "https://publisher.example.cn/" + "a" * 2030, "2048"),
        # 729 characters, 2,129 bytes: 2 KB is counted in bytes.
        ("url", "https://publisher.example.cn/" + "贵" * 700, "2048 bytes"),
        ("url", "not-a-url", "only http and https"),
        ("channel", "douyin", "generic"),
        ("event_types", ["release published"], "did you mean release.published?"),
        ("event_types", [], "at least 1"),
        ("org_id", "gov-999999", "unknown organ"),
    ],
)
async def test_bad_subscriptions_are_refused_naming_the_field(
    api: Api, admin: dict[str, str], field: str, value: object, says: str
) -> None:
    response = await api.post(WEBHOOKS, admin, json=hook(**{field: value}))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"].startswith(field)
    assert says in problem["detail"]
    assert (await api.get(WEBHOOKS, admin)).json()["items"] == []


@pytest.mark.parametrize(
    ("event_types", "field", "says"),
    [
        (["release.publish"], "event_types[0]", "did you mean release.published?"),
        (["incident.*", "发布"], "event_types[1]", "unknown event type '发布'"),
        (["releases.*"], "event_types[0]", "unknown family 'releases.*'; did you mean release.*"),
        (["release.published.*"], "event_types[0]", "unknown family"),
        (["test.event"], "event_types[0]", "unknown event type"),
    ],
)
async def test_a_type_the_service_never_writes_is_refused_with_what_was_meant(
    api: Api, admin: dict[str, str], event_types: list[str], field: str, says: str
) -> None:
    response = await api.post(WEBHOOKS, admin, json=hook(event_types=event_types))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert says in problem["errors"][0]["message"]
    assert "^(" not in problem["detail"]  # no raw pattern
    assert {"*", "release.*", "release.published", "incident.reported"} <= set(
        problem["known_event_types"]
    )
    assert (await api.get(WEBHOOKS, admin)).json()["items"] == []


async def test_with_no_close_match_the_refusal_lists_the_families(
    api: Api, admin: dict[str, str]
) -> None:
    response = await api.post(WEBHOOKS, admin, json=hook(event_types=["发布"]))
    message = response.json()["errors"][0]["message"]
    for family in ("release.*", "incident.*", "obligation.*", "conference.*", "warning.*"):
        assert family in message


async def test_every_bad_item_is_named_at_once(api: Api, admin: dict[str, str]) -> None:
    body = hook(event_types=["release.published", "incident.report", "*", "obligation.breach"])
    problem = (await api.post(WEBHOOKS, admin, json=body)).json()
    assert [
        (e["field"], e["message"].rsplit("did you mean ", 1)[1]) for e in problem["errors"]
    ] == [
        ("event_types[1]", "incident.reported?"),
        ("event_types[3]", "obligation.breached, obligation.created?"),
    ]


@pytest.mark.parametrize(
    "event_types",
    [["*"], ["release.*", "incident.reported", "conference.*"], ["obligation.breached"]],
)
async def test_types_families_and_everything_are_accepted(
    api: Api, admin: dict[str, str], event_types: list[str]
) -> None:
    response = await api.post(WEBHOOKS, admin, json=hook(event_types=event_types))
    assert response.status_code == 201, response.text
    assert response.json()["event_types"] == event_types
    assert response.json()["unknown_event_types"] == []


async def test_a_change_to_unknown_types_is_refused_and_changes_nothing(
    api: Api, admin: dict[str, str]
) -> None:
    created = (await api.post(WEBHOOKS, admin, json=hook())).json()
    url = f"{WEBHOOKS}/{created['id']}"
    response = await api.client.patch(
        url, headers=admin, json={"event_types": ["release.*", "warning.publish"]}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "event_types[1]"
    assert "did you mean warning.published?" in response.json()["detail"]
    assert (await api.get(url, admin)).json()["event_types"] == ["release.published"]


async def test_a_subscription_saved_before_types_were_checked_stays_readable(
    api: Api, admin: dict[str, str], db: Database
) -> None:
    created = (await api.post(WEBHOOKS, admin, json=hook())).json()
    async with db.write() as session:
        sub = await session.get(WebhookSubscription, created["id"])
        assert sub is not None
        sub.event_types = ["release.publish", "incident.*"]
    url = f"{WEBHOOKS}/{created['id']}"
    shown = await api.get(url, admin)
    assert shown.status_code == 200
    assert shown.json()["event_types"] == ["release.publish", "incident.*"]
    # The operator can see which pattern never fires.
    assert shown.json()["unknown_event_types"] == ["release.publish"]
    [listed] = (await api.get(WEBHOOKS, admin)).json()["items"]
    assert listed["unknown_event_types"] == ["release.publish"]
    # Other changes still go through; a correction clears the warning.
    off = await api.client.patch(url, headers=admin, json={"active": False})
    assert off.status_code == 200, off.text
    fixed = await api.client.patch(
        url, headers=admin, json={"event_types": ["release.published", "incident.*"]}
    )
    assert fixed.status_code == 200
    assert fixed.json()["unknown_event_types"] == []


async def test_the_log_refuses_a_type_missing_from_the_catalogue(
    db: Database, clock: ManualClock
) -> None:
    async with db.write() as session:
        with pytest.raises(ValueError, match=r"release\.publish'"):
            await log.append(session, "release.publish", at=clock.now(), data={})
        written = await log.append(session, "release.published", at=clock.now(), data={})
    assert written.seq > 0


async def test_an_administrator_scopes_only_to_organs_of_its_jurisdiction(api: Api) -> None:
    guiyang_admin = await api.token("520100", "admin")
    outside = await api.post(WEBHOOKS, guiyang_admin, json=hook(org_id="520200"))
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "org_id"
    inside = await api.post(WEBHOOKS, guiyang_admin, json=hook(org_id="520102"))
    assert inside.status_code == 201
    assert inside.json()["org_id"] == "gov-520102"
    # Another prefecture's administrator does not see it at all.
    zunyi_admin = await api.token("520300", "admin")
    assert (await api.get(f"{WEBHOOKS}/{inside.json()['id']}", zunyi_admin)).status_code == 404
    assert (await api.get(WEBHOOKS, zunyi_admin)).json()["items"] == []


async def test_switching_a_subscription_off_and_on(api: Api, admin: dict[str, str]) -> None:
    created = (await api.post(WEBHOOKS, admin, json=hook())).json()
    url = f"{WEBHOOKS}/{created['id']}"
    off = await api.client.patch(url, headers=admin, json={"active": False})
    assert off.status_code == 200
    assert off.json()["active"] is False
    assert off.json()["disabled_reason"] == "deactivated by an administrator"
    on = await api.client.patch(url, headers=admin, json={"active": True, "event_types": ["*"]})
    assert on.json()["active"] is True and on.json()["event_types"] == ["*"]
    bad = await api.client.patch(url, headers=admin, json={"url": "gopher://x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "url"
    assert (await api.client.delete(url, headers=admin)).status_code == 204
    assert (await api.get(url, admin)).json()["active"] is False
    assert (await api.client.delete(f"{WEBHOOKS}/whk_nope", headers=admin)).status_code == 404


async def test_a_retried_create_with_the_same_key_gets_the_same_subscription(
    api: Api, admin: dict[str, str]
) -> None:
    headers = {**admin, "Idempotency-Key": "wechat-publisher-1"}
    first = await api.post(WEBHOOKS, headers, json=hook())
    second = await api.post(WEBHOOKS, headers, json=hook())
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["secret"] == first.json()["secret"]
    other = await api.post(WEBHOOKS, headers, json=hook(channel="weibo"))
    assert other.status_code == 409
    assert len((await api.get(WEBHOOKS, admin)).json()["items"]) == 1


@pytest.fixture
async def strict_api(
    settings: Settings, db: Database, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The service as deployed: private, loopback and link-local receivers refused."""
    app = create_app(
        settings.model_copy(update={"allow_private_webhooks": False}),
        clock=clock,
        db=db,
        start_services=False,
    )
    dns = {
        "publisher.example.cn": ["203.0.113.9", "2001:db8::9"],
        "www.gov.cn": ["61.135.1.1"],
        "intranet.example.cn": ["61.135.1.2", "10.1.2.3"],
        "rebind.example.cn": ["::ffff:127.0.0.1"],
        # 例子.中国, as the client will send to it (IDNA 2008).
        "xn--fsqu00a.xn--fiqs8s": ["61.135.1.3"],
    }

    async def resolve(host: str) -> list[str]:
        if host not in dns:
            raise OSError("Name or service not known")
        return dns[host]

    app.dependency_overrides[url_resolver] = lambda: resolve
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as client:
        yield client


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://10.0.0.5/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]/hook", "loopback"),
        ("https://intranet.example.cn/hook", "10.1.2.3"),
        ("https://rebind.example.cn/hook", "loopback"),
        ("https://nowhere.example.cn/hook", "does not resolve"),
        ("http://2130706433/hook", "ambiguous numeric host"),
        ("http://0177.0.0.1/hook", "ambiguous numeric host"),  # octal
        ("http://0x7f.1/hook", "ambiguous numeric host"),  # hex, short form
        ("http://[::ffff:7f00:1]/hook", "loopback"),  # IPv4-mapped, in hex
        ("http://[::ffff:169.254.169.254]/latest", "link-local"),
        ("http://[fe80::1%25eth0]/hook", "link-local"),
        ("http://[fd12:3456::1]/hook", "private"),
        # Ideographic full stops and full-width letters: IDNA reads them as ASCII.
        ("http://127。0。0。1/hook", "ambiguous numeric host"),
        ("http://ｌｏｃａｌｈｏｓｔ/hook", "loopback"),
        # Valid to Python's resolver (IDNA 2003), not to the client (IDNA 2008).
        ("https://i❤.ws/hook", "cannot be sent to"),
    ],
)
async def test_internal_addresses_are_refused_unless_allowed(
    strict_api: httpx.AsyncClient, api: Api, url: str, says: str
) -> None:
    admin = await api.token("520000", "admin")
    response = await strict_api.post(WEBHOOKS, headers=admin, json=hook(url=url))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"
    assert says in response.json()["detail"]


async def test_a_public_receiver_is_accepted(strict_api: httpx.AsyncClient, api: Api) -> None:
    admin = await api.token("520000", "admin")
    for url in ("https://www.gov.cn/fabu", "http://61.135.1.1/fabu", "https://例子.中国/fabu"):
        response = await strict_api.post(WEBHOOKS, headers=admin, json=hook(url=url))
        assert response.status_code == 201, response.text
