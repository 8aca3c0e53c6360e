"""Sending one webhook: the body, the Standard Webhooks headers, the request and its outcome.

No database here: the worker hands in the event and the subscription's URL and secret, and
records what `send` reports. Timeouts: 5 s to connect, 15 s for the whole attempt; redirects
are not followed (policy.classify_response counts a 3xx as a failure). Where private
addresses are not allowed, the client resolves each host itself and connects only to the
addresses it has just checked, so a name cannot point elsewhere between the check and the
connection (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpcore
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
    # getaddrinfo's order is the preferred one (RFC 6724): connections try them in it.
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


async def check_url(url: str, *, allow_private: bool, resolve: Resolver | None) -> str:
    """`url` if a subscription may point at it; `policy.InvalidWebhookUrl` otherwise.

    Names are resolved here, before the policy looks at the addresses, so that the
    lookup happens on the event loop and outside any database transaction.
    """
    # The shape, literal addresses and localhost names first: no lookup for a URL refused
    # anyway.
    url = policy.validate_webhook_url(url, allow_private=allow_private)
    # The host as the client will send to it (IDNA 2008, ASCII). Python's resolver reads
    # names by IDNA 2003, which can name a different domain ("ß"), so the lookup below and
    # the one before every connection both use this form; a URL the client cannot send
    # (an emoji domain) is refused now rather than failing every attempt later.
    try:
        host = httpx.URL(url).raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise policy.InvalidWebhookUrl(f"the URL cannot be sent to: {exc}") from None
    # Literal addresses and localhost names were judged above; only a name is left to look up.
    if allow_private or resolve is None or _is_ip_literal(host):
        return url
    try:
        addresses = await resolve(host)
    except OSError as exc:
        raise policy.InvalidWebhookUrl(f"host {host!r} does not resolve: {exc}") from None
    # The policy judges the addresses this lookup found (of the name as the client sends it).
    return policy.validate_webhook_url(url, allow_private=False, resolve=lambda _: addresses)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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


def make_client(
    connections: int = 8,
    *,
    resolve: Resolver | None = None,
    permitted: Callable[[str], bool] = policy.is_public_address,
) -> httpx.AsyncClient:
    """A client with up to `connections` pooled connections, no redirects, and no proxies
    from the environment (a proxy would reach addresses the URL checks refused).

    With `resolve` (private addresses not allowed), every new connection looks its host up
    with it and goes only to an address `permitted` accepts; see `PinnedBackend`.
    """
    transport = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        trust_env=False,
    )
    if resolve is not None:
        # httpx has no public hook for the connection pool's network backend (httpcore
        # has); a test sends to a name only the injected resolver knows, so a change in
        # httpx here fails loudly rather than silently resolving twice.
        transport._pool._network_backend = PinnedBackend(resolve, permitted)
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )


class AddressRefused(Exception):
    """The host now resolves to an address webhooks may not reach (DNS rebinding)."""


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens connections only to addresses the policy accepts.

    The host is looked up here, every address it resolves to is checked, and the socket is
    opened to one of those addresses, never to the name: a second lookup (by the socket
    library) could answer differently, and a name that passed the check could then reach
    an internal address. TLS still verifies the certificate against the name.
    """

    def __init__(self, resolve: Resolver, permitted: Callable[[str], bool]) -> None:
        self._resolve = resolve
        self._permitted = permitted
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if _is_ip_literal(host):
            addresses = [host]
        else:
            try:
                addresses = await self._resolve(host)
            except (OSError, UnicodeError) as exc:  # UnicodeError: a label over 63 characters
                raise httpcore.ConnectError(f"host {host!r} does not resolve: {exc}") from None
        if not addresses:
            raise AddressRefused(f"host {host!r} does not resolve")
        for address in addresses:
            if not self._permitted(address):
                raise AddressRefused(f"host {host!r} resolves to a non-public address {address}")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # the next address may answer (IPv6 unreachable, say)
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("webhooks are sent over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


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
) -> Outcome:
    """POST `body` to `url` once. Never raises for network trouble: it is the outcome.

    A client from `make_client(resolve=...)` refuses, as the outcome of the attempt, a host
    that now points inside.
    """
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    try:
        request = client.build_request("POST", url, content=body, headers=dict(headers))
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        # Stored before the URL checks refused such URLs: a failed attempt on the record,
        # not a lane that dies on it and a delivery that is never logged nor dead-lettered.
        return Outcome(None, elapsed(), f"the URL cannot be sent to: {exc}")
    try:
        async with asyncio.timeout(TOTAL_TIMEOUT):
            resp = await client.send(request, stream=True)
            try:
                excerpt = await _read_excerpt(resp)
            finally:
                await resp.aclose()
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
