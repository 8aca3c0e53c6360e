"""Webhook delivery policy: when to retry, what a response means, where we may send."""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime, timedelta

import pytest

from app.publishing.policy import (
    MAX_RETRY_AFTER,
    RETRY_SCHEDULE,
    InvalidWebhookUrl,
    classify_response,
    is_public_address,
    next_attempt_delay,
    parse_retry_after,
    validate_webhook_url,
)

# ---------------------------------------------------------------- schedule


def test_retry_schedule_is_the_standard_webhooks_one() -> None:
    assert [d.total_seconds() for d in RETRY_SCHEDULE] == [
        0,  # immediately
        5,
        5 * 60,
        30 * 60,
        2 * 3600,
        5 * 3600,
        10 * 3600,
        14 * 3600,
        20 * 3600,
        24 * 3600,
    ]
    # Ten attempts spread over 3 days 3 h 35 min 5 s.
    assert sum(RETRY_SCHEDULE, timedelta(0)) == timedelta(days=3, hours=3, minutes=35, seconds=5)


def test_the_first_attempt_goes_at_once() -> None:
    assert next_attempt_delay(0, rng=random.Random(1)) == timedelta(0)


def test_seeded_delays_are_exact() -> None:
    assert next_attempt_delay(1, rng=random.Random(42)) == timedelta(seconds=5, microseconds=139427)
    assert next_attempt_delay(9, rng=random.Random(42)) == timedelta(
        days=1, seconds=2409, microseconds=295077
    )


@pytest.mark.parametrize("attempt", range(1, 10))
def test_every_wait_is_within_ten_percent_of_the_schedule(attempt: int) -> None:
    rng = random.Random(2026)
    base = RETRY_SCHEDULE[attempt]
    delays = [next_attempt_delay(attempt, rng=rng) for _ in range(2000)]
    assert all(d is not None for d in delays)
    seconds = [d.total_seconds() for d in delays if d is not None]
    assert min(seconds) >= base.total_seconds() * 0.9
    assert max(seconds) <= base.total_seconds() * 1.1
    # The jitter really spreads both ways, close to its bounds.
    assert min(seconds) < base.total_seconds() * 0.91
    assert max(seconds) > base.total_seconds() * 1.09


def test_after_the_tenth_attempt_fails_the_delivery_is_dead_lettered() -> None:
    rng = random.Random(7)
    assert next_attempt_delay(9, rng=rng) is not None
    assert next_attempt_delay(10, rng=rng) is None
    assert next_attempt_delay(11, rng=rng) is None
    assert next_attempt_delay(10, rng=rng, retry_after=timedelta(seconds=30)) is None


def test_a_negative_attempt_number_is_refused() -> None:
    with pytest.raises(ValueError):
        next_attempt_delay(-1, rng=random.Random(0))


def test_retry_after_longer_than_the_schedule_is_waited_out_exactly() -> None:
    # Attempt 1 failed with 429 and Retry-After: 3600; the schedule says ~5 s.
    delay = next_attempt_delay(1, rng=random.Random(0), retry_after=timedelta(hours=1))
    assert delay == timedelta(hours=1)


def test_retry_after_shorter_than_the_schedule_does_not_hurry_us() -> None:
    delay = next_attempt_delay(3, rng=random.Random(42), retry_after=timedelta(seconds=1))
    assert delay is not None
    assert timedelta(minutes=27) <= delay <= timedelta(minutes=33)


def test_retry_after_is_capped_at_a_day() -> None:
    delay = next_attempt_delay(1, rng=random.Random(0), retry_after=timedelta(days=3))
    assert delay == MAX_RETRY_AFTER == timedelta(hours=24)


# ---------------------------------------------------------------- Retry-After

NOW = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        ("Wed, 21 Oct 2015 07:28:00 GMT", timedelta(seconds=60)),  # IMF-fixdate
        ("Wednesday, 21-Oct-15 07:28:30 GMT", timedelta(seconds=90)),  # RFC 850
        ("Wed Oct 21 07:29:00 2015", timedelta(seconds=120)),  # asctime, read as GMT
        ("Wed, 21 Oct 2015 07:00:00 GMT", timedelta(0)),  # already past
        ("99999999999", timedelta(days=365)),
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("١٢٠", None),  # non-ASCII digits are not delay-seconds
    ],
)
def test_retry_after_header(header: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(header, NOW) == expected


# ---------------------------------------------------------------- responses


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "delivered"),
        (202, "delivered"),
        (204, "delivered"),
        (299, "delivered"),
        (410, "disable"),
        (429, "retry_after"),
        (503, "retry_after"),
        (301, "retry"),  # redirects are not followed
        (302, "retry"),
        (307, "retry"),
        (308, "retry"),
        (400, "retry"),
        (401, "retry"),
        (404, "retry"),
        (500, "retry"),
        (502, "retry"),
        (504, "retry"),
        (None, "retry"),  # no answer at all: DNS, connect, TLS, timeout
    ],
)
def test_response_classification(status: int | None, expected: str) -> None:
    assert classify_response(status) == expected


# ---------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/fabu",
        "http://publisher.example.cn:8080/in?channel=weibo",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://[::ffff:8.8.8.8]/hook",  # IPv4-mapped, judged by 8.8.8.8
        "https://例子.中国/hook",
        "https://hooks.example.com/" + "a" * (2048 - len("https://hooks.example.com/")),
    ],
)
def test_public_webhook_urls_are_accepted(url: str) -> None:
    assert validate_webhook_url(url, allow_private=False) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/x", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("hooks.example.com/x", "only http and https"),
        ("https://user:secret@hooks.example.com/x", "credentials"),
        ("https://token@hooks.example.com/x", "credentials"),
        ("https:///x", "no host"),
        ("https://hooks.example.com:99999/x", "malformed"),
        ("https://hooks.example.com/a b", "whitespace"),
        (" https://hooks.example.com/", "whitespace"),
        ("https://hooks.example.com/\r\nX-Injected: 1", "whitespace"),
        ("https://hooks.example.com/" + "a" * 2048, "longer than 2048"),
        ("https://hooks.example.com/" + "通报" * 400, "longer than 2048 bytes"),  # 826 chars
        ("https://hooks.example.com/\udc80", "not valid Unicode"),
        ("https://hooks..example.com/", "invalid host"),
        ("https://bad_host!.example.com/", "invalid host"),
    ],
)
def test_malformed_webhook_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(InvalidWebhookUrl) as refused:
        validate_webhook_url(url, allow_private=True)
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.1.10/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://100.64.0.1/", "not globally routable"),  # carrier-grade NAT
        ("http://192.0.2.1/", "private"),  # documentation range
        ("http://[::1]/", "loopback"),
        ("http://[::]/", "unspecified"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fc00::1]/", "private"),
        ("http://[ff02::1]/", "multicast"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 around 127.0.0.1
        ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 around 10.0.0.1
        ("http://localhost:8000/", "loopback name"),
        ("http://LOCALHOST./", "loopback name"),
        ("http://api.localhost/", "loopback name"),
        ("http://ｌｏｃａｌｈｏｓｔ/", "loopback name"),  # full-width, IDNA maps it to ASCII
        ("http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ。/", "loopback name"),
    ],
)
def test_internal_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(InvalidWebhookUrl) as refused:
        validate_webhook_url(url, allow_private=False)
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://0177.0.0.1/",
        "http://127.0.0.1./",
        "http://１２７.０.０.１/",  # full-width digits
        "http://127。0。0。1/",  # ideographic full stops
        "http://①②⑦.0.0.1/",  # circled digits
    ],
)
def test_numeric_spellings_of_an_address_are_refused_even_when_private_is_allowed(
    url: str,
) -> None:
    # getaddrinfo reads all of these as 127.0.0.1.
    for allow_private in (False, True):
        with pytest.raises(InvalidWebhookUrl, match="ambiguous numeric host"):
            validate_webhook_url(url, allow_private=allow_private)


def test_private_addresses_are_accepted_where_the_deployment_allows_them() -> None:
    for url in ("http://127.0.0.1:9000/hook", "http://localhost/hook", "http://10.0.0.5/"):
        assert validate_webhook_url(url, allow_private=True) == url


def test_refusal_is_a_value_error_with_a_reason() -> None:
    with pytest.raises(ValueError) as refused:
        validate_webhook_url("http://[::1]/", allow_private=False)
    assert isinstance(refused.value, InvalidWebhookUrl)
    assert refused.value.reason == "::1 is a loopback address"


class FakeDns:
    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


def test_a_name_resolving_only_to_public_addresses_is_accepted() -> None:
    dns = FakeDns({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"]})
    url = "https://hooks.example.com/fabu"
    assert validate_webhook_url(url, allow_private=False, resolve=dns) == url
    assert dns.asked == ["hooks.example.com"]


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["93.184.216.34", "10.0.0.8"], "resolves to 10.0.0.8 is a private address"),
        (["::ffff:169.254.169.254"], "link-local"),
        (["fe80::1%eth0"], "link-local"),
        ([], "does not resolve"),
        (["not-an-address"], "resolved to 'not-an-address'"),
    ],
)
def test_a_name_resolving_to_anything_internal_is_refused(
    addresses: list[str], reason: str
) -> None:
    dns = FakeDns({"internal.example.com": addresses})
    with pytest.raises(InvalidWebhookUrl) as refused:
        validate_webhook_url("https://internal.example.com/", allow_private=False, resolve=dns)
    assert reason in refused.value.reason


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(InvalidWebhookUrl, match="does not resolve"):
        validate_webhook_url("https://nowhere.example/", allow_private=False, resolve=FakeDns({}))


def test_resolution_is_skipped_for_literals_and_when_private_is_allowed() -> None:
    dns = FakeDns({})
    validate_webhook_url("https://8.8.8.8/", allow_private=False, resolve=dns)
    validate_webhook_url("https://hooks.example.com/", allow_private=True, resolve=dns)
    assert dns.asked == []


def test_the_connected_peer_can_be_checked_at_delivery_time() -> None:
    assert is_public_address("93.184.216.34")
    assert is_public_address("2606:4700:4700::1111")
    assert not is_public_address("127.0.0.1")
    assert not is_public_address("::ffff:192.168.0.1")
    assert not is_public_address("example.com")
