"""Webhook delivery policy as pure functions (PRODUCT.md §6, API.md Webhooks).

Retries follow the Standard Webhooks recommended schedule; what a response
means, how long to wait, and which URLs may be subscribed at all are decided
here, so the delivery worker only does the I/O.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final, Literal
from urllib.parse import urlsplit

__all__ = [
    "JITTER",
    "MAX_RETRY_AFTER",
    "MAX_URL_LENGTH",
    "RETRY_SCHEDULE",
    "Classification",
    "InvalidWebhookUrl",
    "classify_response",
    "is_public_address",
    "next_attempt_delay",
    "parse_retry_after",
    "validate_webhook_url",
]

# Standard Webhooks, "Retry schedule": the wait before each attempt, from the
# end of the one before it. Ten attempts in all, about 3 days end to end;
# after the tenth fails the delivery goes to the dead letter (redeliverable by
# hand, POST /deliveries/{id}/redeliver).
RETRY_SCHEDULE: Final[tuple[timedelta, ...]] = (
    timedelta(0),  # attempt 1: immediately
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),  # attempt 10: the last
)

# Each wait is scaled by a uniform factor in [0.9, 1.1] (±10 %) so receivers
# recovering from an outage are not hit by every sender in the same second.
JITTER: Final = 0.10

# A receiver's Retry-After is obeyed up to this; beyond it, our own schedule.
MAX_RETRY_AFTER: Final = timedelta(hours=24)

MAX_URL_LENGTH: Final = 2048

Classification = Literal["delivered", "retry", "disable", "retry_after"]


def next_attempt_delay(
    attempt_number: int,
    *,
    rng: random.Random,
    retry_after: timedelta | None = None,
) -> timedelta | None:
    """How long to wait before the next attempt, or None: dead letter.

    `attempt_number` is how many attempts have been made so far (the one that
    just failed is number `attempt_number`; 0 asks for the first attempt,
    which goes at once). `retry_after` is the receiver's Retry-After on a 429
    or 503 (see `classify_response`): the wait is never shorter than it, up
    to `MAX_RETRY_AFTER`. A Retry-After still uses up an attempt.
    """
    if attempt_number < 0:
        raise ValueError("attempt_number must not be negative")
    if attempt_number >= len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempt_number]
    delay = base * rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, timedelta(0)), MAX_RETRY_AFTER))
    return delay


# Retry-After values further out than this are read as this (keeps timedelta
# arithmetic away from overflow; MAX_RETRY_AFTER caps the wait anyway).
_RETRY_AFTER_CEILING: Final = timedelta(days=365)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a Retry-After header asks for (RFC 9110 §10.2.3), or None.

    Either delay-seconds (digits only) or an HTTP-date, read against `now`
    (aware). A date in the past means no wait (zero). Anything else: None.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        seconds = int(value)
        if seconds > _RETRY_AFTER_CEILING.total_seconds():
            return _RETRY_AFTER_CEILING
        return timedelta(seconds=seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP-dates are always GMT
    return min(max(when - now, timedelta(0)), _RETRY_AFTER_CEILING)


def classify_response(status: int | None) -> Classification:
    """What one attempt's outcome means for the delivery and the subscription.

    `status` None is a transport failure (DNS, connect, TLS, timeout): retried.
    2xx is delivered. 410 Gone disables the subscription (the receiver said it
    is gone for good). 429 and 503 are retried no sooner than their
    Retry-After. A 3xx is a failure: redirects are not followed (a redirect
    could lead past the URL checks to an internal address). Everything else is
    retried on the schedule.
    """
    if status is None:
        return "retry"
    if 200 <= status <= 299:
        return "delivered"
    if status == 410:
        return "disable"
    if status in (429, 503):
        return "retry_after"
    return "retry"


class InvalidWebhookUrl(ValueError):
    """A webhook URL refused at subscription; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# 64:ff9b::/96 carries an IPv4 address for NAT64 gateways.
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _refusal(ip: _IPAddress) -> str | None:
    """Why `ip` may not receive webhooks, or None if it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            why = _refusal(embedded)
            return f"{why} (embedded in {ip})" if why else None
    for flag, name in (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local"),
        # Shared address space (100.64/10), benchmarking, documentation ...
        (not ip.is_global, "not globally routable"),
    ):
        if flag:
            return f"{ip} is a {name} address"
    return None


def is_public_address(address: str) -> bool:
    """True if `address` (an IP literal) may receive webhooks.

    The delivery client checks with this every address a name resolves to
    before each new connection, and connects only to those: a name that
    resolved to a public address at subscription can resolve to an internal
    one later (DNS rebinding).
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return _refusal(ip) is None


_NUMERIC_LABEL: Final = re.compile(r"^(?:[0-9]+|0[xX][0-9a-fA-F]*)$")
_HOST_LABEL: Final = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$")


def validate_webhook_url(
    url: str,
    *,
    allow_private: bool,
    resolve: Callable[[str], list[str]] | None = None,
) -> str:
    """`url` if a webhook may be sent to it, else raise `InvalidWebhookUrl`.

    http or https only, at most 2,048 bytes in UTF-8, a host, no user:password.
    Unless `allow_private`, the host may not be (or, with `resolve`, resolve
    to) an unspecified, loopback, link-local, multicast, private, reserved or
    otherwise non-global address, IPv4 or IPv6 (IPv4-mapped, 6to4, Teredo and
    NAT64 forms judged by the IPv4 address inside). `resolve` maps a host name
    to its addresses (the caller wraps socket.getaddrinfo); without it only IP
    literals and localhost names are checked.
    """
    # 2 KB of what is stored and sent: bytes, as a Chinese path takes three each.
    try:
        size = len(url.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidWebhookUrl("URL is not valid Unicode") from None
    if size > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"URL longer than {MAX_URL_LENGTH} bytes (2 KB)")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InvalidWebhookUrl("URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise InvalidWebhookUrl(f"malformed URL: {exc}") from None
    del port  # parsed only to refuse a malformed one
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidWebhookUrl("only http and https URLs are accepted")
    if "@" in parts.netloc:
        raise InvalidWebhookUrl("credentials in the URL are not accepted; use the signing secret")
    if not host:
        raise InvalidWebhookUrl("URL has no host")

    literal = _ip_literal(host)
    name = host.rstrip(".")
    if literal is None:
        labels = _ascii_host(name) if name else []
        if len(labels) > 1 and not labels[-1]:
            labels.pop()  # a trailing full stop of another script ("。")
        if not labels or not all(_HOST_LABEL.match(label) for label in labels):
            raise InvalidWebhookUrl(f"invalid host name {host!r}")
        # Judged as resolvers read it: IDNA maps full-width digits, circled letters and
        # ideographic full stops to ASCII, so "１２７。０。０。１" is 127.0.0.1 and
        # "ｌｏｃａｌｈｏｓｔ" is localhost.
        name = ".".join(labels)
        if _NUMERIC_LABEL.match(labels[-1]) or _ip_literal(name) is not None:
            # Browsers and getaddrinfo read 2130706433, 0x7f.1 or 127.1 as
            # IPv4 (127.0.0.1): refuse every such spelling but dotted quads.
            raise InvalidWebhookUrl(f"ambiguous numeric host {host!r}; write the address")
    if allow_private:
        return url

    if literal is not None:
        why = _refusal(literal)
        if why:
            raise InvalidWebhookUrl(why)
        return url
    name = name.lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise InvalidWebhookUrl(f"{host} is a loopback name")
    if resolve is None:
        return url
    try:
        addresses = resolve(host)
    except OSError as exc:
        raise InvalidWebhookUrl(f"host {host!r} does not resolve: {exc}") from None
    if not addresses:
        raise InvalidWebhookUrl(f"host {host!r} does not resolve")
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise InvalidWebhookUrl(f"host {host!r} resolved to {address!r}") from None
        why = _refusal(ip)
        if why:
            raise InvalidWebhookUrl(f"host {host!r} resolves to {why}")
    return url


def _ip_literal(host: str) -> _IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _ascii_host(name: str) -> list[str]:
    """The labels of `name`, internationalised ones in their xn-- form."""
    try:
        return name.encode("idna").decode("ascii").split(".")
    except UnicodeError:
        raise InvalidWebhookUrl(f"invalid host name {name!r}") from None
