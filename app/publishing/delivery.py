"""Sending one webhook: the body, the Standard Webhooks headers, the request and its outcome.

No database here: the worker hands in the event and the subscription's URL and secret, and
records what `send` reports. Timeouts: 5 s to connect, 15 s for the whole attempt; redirects
are not followed (policy.classify_response counts a 3xx as a failure).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from app.events.log import to_wire
from app.models import Event
from app.publishing import policy
from app.publishing.render import ReleaseView, render

CONNECT_TIMEOUT: Final = 5.0
TOTAL_TIMEOUT: Final = 15.0
EXCERPT_BYTES: Final = 1024
SECRET_PREFIX: Final = "whsec_"
USER_AGENT: Final = "Fabu-Webhooks/0.1 (+https://www.standardwebhooks.com/)"

Resolver = Callable[[str], Awaitable[list[str]]]


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: "whsec_" + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


async def resolve_host(host: str) -> list[str]:
    """Every address `host` resolves to, through the event loop's getaddrinfo."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    # IPv6 link-local answers carry a zone ("fe80::1%eth0"); the address is what matters.
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


async def check_url(url: str, *, allow_private: bool, resolve: Resolver | None) -> str:
    """`url` if a subscription may point at it; `policy.InvalidWebhookUrl` otherwise.

    Names are resolved here, before the policy looks at the addresses, so that the
    lookup happens on the event loop and outside any database transaction.
    """
    # The shape first (scheme, length, host syntax): no lookup for a URL refused anyway.
    url = policy.validate_webhook_url(url, allow_private=True)
    if allow_private:
        return url
    addresses: list[str] | None = None
    host = _host(url)
    if resolve is not None and host and not _is_ip_literal(host) and not _is_localhost(host):
        try:
            addresses = await resolve(host)
        except OSError as exc:
            raise policy.InvalidWebhookUrl(f"host {host!r} does not resolve: {exc}") from None

    def known(_: str) -> list[str]:
        return addresses or []

    return policy.validate_webhook_url(
        url, allow_private=False, resolve=known if addresses is not None else None
    )


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_localhost(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


# -- the body ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def release_view(
    event: Event,
    *,
    public_url: str,
    org_names: tuple[str, str] | None = None,
) -> ReleaseView | None:
    """The release a `release.published` event announces, read from the event's data.

    The release workflow writes {id, kind, title, body, channels, facts, org names,
    incident_id, published_at, url}; missing keys fall back to what the event itself says
    (its time, its organ) so a publisher still gets something it can post. None when even
    that is not enough (no title and no body).
    """
    data: Mapping[str, Any] = event.data if isinstance(event.data, Mapping) else {}
    org = data.get("org") if isinstance(data.get("org"), Mapping) else {}
    assert isinstance(org, Mapping)
    fallback_zh, fallback_en = org_names or ("", "")
    release_id = _text(data.get("id")) or _text(data.get("release_id")) or event.id
    title = _text(data.get("title"))
    body = _text(data.get("body"))
    if not title and not body:
        return None
    base = public_url.rstrip("/")
    fallback_url = f"{base}/releases/{release_id}"
    facts = data.get("facts")
    fields: dict[str, Any] = {
        "id": release_id,
        "kind": _text(data.get("kind")) or "release",
        "title": title,
        "body": body,
        "published_at": _when(data.get("published_at")) or event.at,
        "org_name_zh": _text(data.get("org_name_zh"))
        or _text(org.get("name_zh"))
        or _text(data.get("org_name"))
        or fallback_zh,
        "org_name_en": _text(data.get("org_name_en")) or _text(org.get("name_en")) or fallback_en,
        "url": _text(data.get("url")) or fallback_url,
        "incident_id": _text(data.get("incident_id")) or event.incident_id,
        "facts": facts if isinstance(facts, Mapping) else None,
    }
    try:
        return ReleaseView(**fields)
    except ValueError:
        # A url that is not an http(s) link is replaced by the release's own page.
        fields["url"] = fallback_url
        try:
            return ReleaseView(**fields)
        except ValueError:
            return None


def payload(
    event: Event,
    channel: str,
    *,
    public_url: str,
    org_names: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The body of the request: the event as API.md shows it (with its `seq`), plus
    `rendered` for the subscription's channel on `release.published`."""
    body = to_wire(event)
    if event.type == "release.published":
        view = release_view(event, public_url=public_url, org_names=org_names)
        if view is not None:
            body["rendered"] = render(channel, view)
    return body


def encode(body: Mapping[str, Any]) -> str:
    """Compact JSON in UTF-8 (Chinese stays readable); the exact text that is signed."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def signed_headers(secret: str, *, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """Standard Webhooks headers: webhook-id, webhook-timestamp (UTC seconds), signature."""
    at = at.astimezone(UTC)  # the library reads the timestamp as UTC whatever its zone
    signature = Webhook(secret).sign(msg_id, at, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


# -- the request ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to; `status_code` None means no HTTP answer at all."""

    status_code: int | None
    latency_ms: float
    error: str | None = None
    excerpt: str | None = None
    retry_after: str | None = None

    @property
    def classification(self) -> policy.Classification:
        return policy.classify_response(self.status_code)


def make_client(connections: int = 8) -> httpx.AsyncClient:
    """A client with up to `connections` pooled connections, no redirects, and no proxies
    from the environment (a proxy would reach addresses the URL checks refused)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        headers={"user-agent": USER_AGENT},
    )


class AddressRefused(Exception):
    """The host now resolves to an address webhooks may not reach (DNS rebinding)."""


async def _check_public(url: str, resolve: Resolver) -> None:
    host = _host(url)
    if not host:
        raise AddressRefused("URL has no host")
    addresses = [host] if _is_ip_literal(host) else await resolve(host)
    if not addresses:
        raise AddressRefused(f"host {host!r} does not resolve")
    for address in addresses:
        if not policy.is_public_address(address):
            raise AddressRefused(f"host {host!r} resolves to a non-public address {address}")


async def _read_excerpt(response: httpx.Response) -> str:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data.extend(chunk)
        if len(data) >= EXCERPT_BYTES:
            break
    # Cut at 1 KB; a character split by the cut is dropped, other bad bytes replaced.
    text = bytes(data[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
    if len(data) >= EXCERPT_BYTES and text.endswith("\ufffd"):
        text = text.rstrip("\ufffd")
    return text


async def send(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    resolve: Resolver | None = None,
) -> Outcome:
    """POST `body` to `url` once. Never raises for network trouble: it is the outcome.

    With `resolve` (private addresses not allowed), the host is looked up again right
    before sending and refused if it now points inside.
    """
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    try:
        async with asyncio.timeout(TOTAL_TIMEOUT):
            if resolve is not None:
                await _check_public(url, resolve)
            async with client.stream("POST", url, content=body, headers=dict(headers)) as resp:
                excerpt = await _read_excerpt(resp)
                latency = elapsed()
                status = resp.status_code
                error = None
                if 300 <= status <= 399:
                    location = resp.headers.get("location", "")[:500]
                    error = f"redirect {status} to {location!r} not followed"
                elif not 200 <= status <= 299:
                    error = f"HTTP {status} {resp.reason_phrase}".strip()
                return Outcome(
                    status_code=status,
                    latency_ms=latency,
                    error=error,
                    excerpt=excerpt,
                    retry_after=resp.headers.get("retry-after"),
                )
    except AddressRefused as exc:
        return Outcome(None, elapsed(), f"refused: {exc}")
    except TimeoutError:
        return Outcome(None, elapsed(), f"timed out after {TOTAL_TIMEOUT:g} s")
    except httpx.ConnectTimeout:
        return Outcome(None, elapsed(), f"connect timed out after {CONNECT_TIMEOUT:g} s")
    except httpx.TimeoutException as exc:
        return Outcome(None, elapsed(), f"timed out: {type(exc).__name__}")
    except httpx.ConnectError as exc:
        return Outcome(None, elapsed(), f"connect failed: {exc or type(exc).__name__}")
    except (httpx.HTTPError, OSError) as exc:
        return Outcome(None, elapsed(), f"{type(exc).__name__}: {exc}")
