"""One attempt on the wire: where the connection goes, and how long it may take."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from app.db import Database
from app.models.webhooks import WebhookSubscription
from app.publishing import delivery
from app.publishing.worker import DeliveryWorker
from tests.conftest import Api
from tests.webhooks.conftest import attempts, deliveries, report, subscribe
from tests.webhooks.receiver import Receiver

BODY = b'{"seq":1}'
HEADERS = {"content-type": "application/json"}


class Dns:
    """A resolver the test controls; the system's never sees these names."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError("Name or service not known")
        return self.table[host]


def loopback_only(address: str) -> bool:
    """Stands in for "public" here: tests may reach loopback and nothing else."""
    return address.startswith("127.")


async def send_once(url: str, **client: Any) -> delivery.Outcome:
    """One attempt through a client of its own (`make_client(**client)`), closed after."""
    http = delivery.make_client(**client)
    try:
        return await delivery.send(http, url, headers=HEADERS, body=BODY)
    finally:
        await http.aclose()


async def test_the_connection_goes_to_the_address_that_was_checked(receiver: Receiver) -> None:
    # `.invalid` never resolves (RFC 6761): had the client looked the name up again on its
    # own rather than connect to the checked address, nothing would have arrived.
    dns = Dns({"publisher.invalid": ["127.0.0.1"]})
    client = delivery.make_client(resolve=dns, permitted=loopback_only)
    try:
        url = f"http://publisher.invalid:{receiver.port}/pinned"
        for _ in range(2):
            outcome = await delivery.send(client, url, headers=HEADERS, body=BODY)
            assert (outcome.status_code, outcome.error) == (200, None)
    finally:
        await client.aclose()
    got = receiver.at("/pinned")
    assert len(got) == 2
    # The name still goes out as the Host (and, on https, the name the certificate is
    # checked against); only the lookup is ours.
    assert got[0].headers["host"] == f"publisher.invalid:{receiver.port}"
    # Looked up again for each new connection (the receiver closes after each request).
    assert dns.asked == ["publisher.invalid", "publisher.invalid"]


async def test_the_next_checked_address_is_tried_when_one_does_not_answer(
    receiver: Receiver,
) -> None:
    # The receiver listens on 127.0.0.1 only: 127.0.0.2 refuses the connection.
    dns = Dns({"publisher.invalid": ["127.0.0.2", "127.0.0.1"]})
    url = f"http://publisher.invalid:{receiver.port}/second"
    outcome = await send_once(url, resolve=dns, permitted=loopback_only)
    assert outcome.status_code == 200
    assert len(receiver.at("/second")) == 1


@pytest.mark.parametrize(
    ("addresses", "refused"),
    [
        (["127.0.0.1"], "127.0.0.1"),
        (["93.184.216.34", "10.0.0.8"], "10.0.0.8"),  # one inside is enough
        (["::ffff:169.254.169.254"], "::ffff:169.254.169.254"),
        (["fd00::1"], "fd00::1"),
    ],
)
async def test_a_name_pointing_inside_is_refused_without_connecting(
    receiver: Receiver, addresses: list[str], refused: str
) -> None:
    dns = Dns({"publisher.invalid": addresses})
    url = f"http://publisher.invalid:{receiver.port}/inside"
    outcome = await send_once(url, resolve=dns)  # the real policy: public addresses only
    assert outcome.status_code is None
    assert outcome.error == (
        f"refused: host 'publisher.invalid' resolves to a non-public address {refused}"
    )
    assert receiver.requests == []


async def test_a_name_the_resolver_cannot_even_encode_is_a_failed_attempt() -> None:
    # Stored before the URL checks refused it: getaddrinfo raises UnicodeError (not OSError)
    # for a label over 63 characters; the sender records it and goes on.
    url = "http://" + "a" * 64 + ".example/x"
    outcome = await send_once(url, resolve=delivery.resolve_host)
    assert outcome.status_code is None
    assert outcome.error is not None and "does not resolve" in outcome.error


async def test_an_address_literal_pointing_inside_is_refused_too(receiver: Receiver) -> None:
    dns = Dns({})
    client = delivery.make_client(resolve=dns)
    try:
        for host in ("127.0.0.1", "[::ffff:127.0.0.1]"):
            url = f"http://{host}:{receiver.port}/literal"
            outcome = await delivery.send(client, url, headers=HEADERS, body=BODY)
            assert outcome.error is not None and "non-public address" in outcome.error
    finally:
        await client.aclose()
    assert receiver.requests == [] and dns.asked == []


async def test_a_name_that_no_longer_resolves_is_a_failed_attempt(receiver: Receiver) -> None:
    outcome = await send_once("https://gone.invalid/hook", resolve=Dns({}))
    assert outcome.status_code is None
    assert outcome.error is not None and "does not resolve" in outcome.error


# ---------------------------------------------------------------- timeouts


def test_an_attempt_has_five_seconds_to_connect_and_fifteen_in_all() -> None:
    assert (delivery.CONNECT_TIMEOUT, delivery.TOTAL_TIMEOUT) == (5.0, 15.0)
    timeout = delivery.make_client().timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (5.0, 15, 15, 15)


@pytest.fixture
def unaccepting_port() -> Iterator[int]:
    """A port whose accept queue is full: a further connect is never answered (its SYN is
    dropped), as with a receiver behind a firewall that drops packets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port: int = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    yield port
    filler.close()
    server.close()


async def test_a_connect_that_hangs_is_given_up_at_the_connect_timeout(
    unaccepting_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "CONNECT_TIMEOUT", 0.2)  # 5 s in service
    outcome = await send_once(f"http://127.0.0.1:{unaccepting_port}/hook")
    assert outcome.status_code is None
    assert outcome.error == "connect timed out after 0.2 s"
    assert 200 <= outcome.latency_ms < 2000


@pytest.fixture
def trickling_port() -> Iterator[int]:
    """A receiver that answers 200 at once and then sends its body a byte every 50 ms: no
    single read ever waits long, so only a deadline on the whole attempt ends it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port: int = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
            while not stop.is_set():
                try:
                    conn.sendall(b".")
                except OSError:
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    server.close()
    thread.join(timeout=5)


async def test_a_receiver_trickling_its_answer_is_cut_off_at_the_total_timeout(
    trickling_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = delivery.make_client()  # reads may each wait 15 s
    monkeypatch.setattr(delivery, "TOTAL_TIMEOUT", 0.5)  # 15 s in service
    try:
        outcome = await delivery.send(
            client, f"http://127.0.0.1:{trickling_port}/hook", headers=HEADERS, body=BODY
        )
    finally:
        await client.aclose()
    # A 200 that never finishes is not a delivery: it is retried (at least once).
    assert outcome.status_code is None
    assert outcome.error == "timed out after 0.5 s"
    assert outcome.classification == "retry"
    assert 500 <= outcome.latency_ms < 3000


# ---------------------------------------------------------------- unsendable URLs


async def test_a_url_the_client_cannot_send_to_is_a_failed_attempt_not_a_crash() -> None:
    outcome = await send_once("https://i❤.ws/hook")
    assert outcome.status_code is None
    assert outcome.error is not None and outcome.error.startswith("the URL cannot be sent to")


async def test_a_stored_url_that_cannot_be_sent_to_is_logged_and_retried(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
) -> None:
    """Subscribed before the URL checks refused emoji domains: its attempts fail on the
    record and run down the schedule like any other failure; other publishers are served."""
    broken = await subscribe(api, admin, receiver, "/broken")
    await subscribe(api, admin, receiver, "/fine")
    async with db.write() as session:
        await session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == broken["id"])
            .values(url="https://i❤.ws/hook")
        )
    await report(api, reporter)

    assert await worker.run_once() == 2
    assert len(receiver.at("/fine")) == 1
    [d] = await deliveries(db, broken["id"])
    assert (d.status, d.attempts) == ("pending", 1)
    [a] = await attempts(db, d.id)
    assert a.outcome == "retry" and a.status_code is None
    assert a.error is not None and a.error.startswith("the URL cannot be sent to")


async def test_a_proxy_in_the_environment_is_not_used(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy would connect wherever it is told, past the address checks."""
    proxy = Receiver()
    proxy.start()
    try:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy.url(""))
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        outcome = await send_once(receiver.url("/direct"))
    finally:
        proxy.stop()
    assert outcome.status_code == 200
    assert len(receiver.at("/direct")) == 1
    assert proxy.requests == []
