"""WS /live against a real uvicorn: resume, the seam, jurisdiction, auth, slow consumers.

A duty officer's dashboard must never miss an event and never show one twice, whatever the
network does; these scenarios play the network's tricks on a real server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import update

from app import metrics
from app.clock import ManualClock, iso
from app.db import Database
from app.events import hub as hub_module
from app.events import log
from app.models import ApiToken
from tests.live.conftest import StartServer
from tests.live.harness import (
    bearer,
    close_code,
    incident_body,
    mint,
    recv_events,
    recv_json,
)

pytestmark = pytest.mark.slow


async def visible_events(http: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    """What GET /events says this token may see, from the start of the log."""
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        r = await http.get(
            "/api/v1/events", params={"after": after, "limit": 1000}, headers=bearer(token)
        )
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        after = body["next_after"]
        if not body["has_more"]:
            return items


async def report(
    http: httpx.AsyncClient, token: str, clock: ManualClock, code: str, title: str, **kw: Any
) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/incidents",
        json=incident_body(clock.now(), code, title, **kw),
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    incident: dict[str, Any] = r.json()
    return incident


def up_to(seq: int) -> Any:
    return lambda got: bool(got) and got[-1]["seq"] >= seq


async def test_a_dashboard_that_reconnects_sees_every_event_exactly_once_in_order(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server()
    watcher, _ = await mint(db, clock, "io-520000", "viewer")
    reporter, _ = await mint(db, clock, "520000", "reporter")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        async with websockets.connect(server.ws_url(after=0, token=watcher)) as ws:
            await report(http, reporter, clock, "520281", "盘州市某煤矿透水")
            expected = await visible_events(http, watcher)
            first = await recv_events(ws, up_to(expected[-1]["seq"]))
        # Disconnected: two more incidents are reported meanwhile.
        await report(http, reporter, clock, "520302", "红花岗区隧道坍塌")
        await report(http, reporter, clock, "520111", "花溪区山体滑坡", deaths=3)
        resume_at = first[-1]["seq"]
        async with websockets.connect(server.ws_url(after=resume_at, token=watcher)) as ws:
            # And one more while connected again: the replay hands over to the live stream.
            await report(http, reporter, clock, "520203", "六枝特区危化品泄漏")
            expected = await visible_events(http, watcher)
            second = await recv_events(ws, up_to(expected[-1]["seq"]))

    received = first + second
    assert [e["seq"] for e in received] == [e["seq"] for e in expected]
    assert received == expected  # the same bodies as the catch-up endpoint
    assert {e["type"] for e in received} >= {"incident.reported", "obligation.created"}


async def test_without_after_the_stream_starts_when_the_handshake_is_answered(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server()
    watcher, _ = await mint(db, clock, "io-520000", "viewer")
    reporter, _ = await mint(db, clock, "520000", "reporter")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await report(http, reporter, clock, "520281", "已知的事故")
        before = (await visible_events(http, watcher))[-1]["seq"]
        async with websockets.connect(server.ws_url(token=watcher)) as ws:
            # Reported the moment the connection is open: the client must get all of it.
            incident = await report(http, reporter, clock, "520302", "刚报告的事故")
            expected = [e for e in await visible_events(http, watcher) if e["seq"] > before]
            got = await recv_events(ws, up_to(expected[-1]["seq"]))
    assert got == expected
    assert got[0]["type"] == "incident.reported" and got[0]["incident_id"] == incident["id"]


async def test_clients_connecting_while_incidents_pour_in_miss_nothing_at_the_seam(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server()
    watcher, _ = await mint(db, clock, "io-520000", "viewer")
    reporter, _ = await mint(db, clock, "520000", "reporter")
    clients: list[Any] = []
    async with httpx.AsyncClient(base_url=server.base_url) as http:

        async def pour() -> None:
            for i in range(12):
                await report(http, reporter, clock, "520281", f"事故 {i}")

        writer = asyncio.create_task(pour())
        # Dashboards open at different moments of the stream, all asking for the whole log.
        while not writer.done():
            clients.append(await websockets.connect(server.ws_url(after=0, token=watcher)))
            await asyncio.sleep(0.05)
        await writer
        clients.append(await websockets.connect(server.ws_url(after=0, token=watcher)))
        expected = [e["seq"] for e in await visible_events(http, watcher)]
        try:
            for ws in clients:
                got = await recv_events(ws, up_to(expected[-1]))
                assert [e["seq"] for e in got] == expected
        finally:
            for ws in clients:
                await ws.close()
    assert len(clients) >= 3


async def test_a_county_sees_its_own_incident_and_not_another_prefectures(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server()
    panzhou, _ = await mint(db, clock, "520281", "viewer")
    guiyang, _ = await mint(db, clock, "520100", "viewer")
    reporter, _ = await mint(db, clock, "520000", "reporter")
    async with (
        httpx.AsyncClient(base_url=server.base_url) as http,
        websockets.connect(server.ws_url(after=0, token=panzhou)) as county_ws,
        websockets.connect(server.ws_url(after=0, token=guiyang)) as city_ws,
    ):
        huaxi = await report(http, reporter, clock, "520111", "花溪区燃气爆炸", deaths=1)
        own = await report(http, reporter, clock, "520281", "盘州市煤矿瓦斯爆炸", deaths=1)
        county_sees = await visible_events(http, panzhou)
        city_sees = await visible_events(http, guiyang)
        county_got = await recv_events(county_ws, up_to(county_sees[-1]["seq"]))
        city_got = await recv_events(city_ws, up_to(city_sees[-1]["seq"]))

    # Huaxi was reported first: had Panzhou been sent it, it would have come before its own.
    assert {e["incident_id"] for e in county_got} == {own["id"]}
    assert {e["incident_id"] for e in city_got} == {huaxi["id"]}
    assert county_got == county_sees
    assert city_got == city_sees


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", 4401),  # no token
        ("token=fabu_not-a-real-token", 4401),
        ("after=abc&token={t}", 4400),
        ("after=-1&token={t}", 4400),
        ("after=1.5&token={t}", 4400),
        ("after=999999&token={t}", 4400),  # beyond the end of the log
    ],
)
async def test_a_bad_token_or_position_is_refused_with_a_close_code_not_a_hang(
    start_server: StartServer, db: Database, clock: ManualClock, query: str, code: int
) -> None:
    server = await start_server()
    token, _ = await mint(db, clock, "io-520000", "viewer")
    url = f"ws://127.0.0.1:{server.port}/api/v1/live?" + query.format(t=token)
    async with websockets.connect(url) as ws:
        assert await close_code(ws, within=5) == code


async def test_a_revoked_token_is_refused_and_its_open_stream_closed(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server(ws_ping_seconds=0.2)
    token, token_id = await mint(db, clock, "io-520000", "viewer")
    async with websockets.connect(server.ws_url(token=token)) as ws:
        assert (await recv_json(ws))["type"] == "ping"
        async with db.write() as session:
            await session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=clock.now())
            )
        assert await close_code(ws) == 4401
    async with websockets.connect(server.ws_url(token=token)) as ws:
        assert await close_code(ws) == 4401


async def test_the_token_may_come_as_a_header_or_a_subprotocol_and_pings_carry_server_time(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server(ws_ping_seconds=0.2)
    token, _ = await mint(db, clock, "io-520000", "viewer")
    url = server.ws_url()
    async with websockets.connect(url, additional_headers=bearer(token)) as ws:
        ping = await recv_json(ws)
    assert ping == {"type": "ping", "at": iso(clock.now()), "last_seq": 0, "interval": 0.2}
    # Browsers cannot set headers: the dashboard offers the token as a subprotocol.
    async with websockets.connect(url, subprotocols=["fabu.live", f"fabu.token.{token}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "fabu.live"
        assert (await recv_json(ws))["type"] == "ping"


async def test_on_the_batch_subprotocol_events_committed_together_come_in_one_message(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server()
    watcher, _ = await mint(db, clock, "io-520000", "viewer")
    reporter, _ = await mint(db, clock, "520000", "reporter")
    protocols = ["fabu.live.batch", "fabu.live", f"fabu.token.{watcher}"]
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await report(http, reporter, clock, "520302", "红花岗区隧道坍塌")
        async with websockets.connect(server.ws_url(after=0), subprotocols=protocols) as ws:  # type: ignore[arg-type]
            assert ws.subprotocol == "fabu.live.batch"
            # The replay: the whole log so far in one message.
            replayed = json.loads(await asyncio.wait_for(ws.recv(), 10))
            # A level II intake commits its report and two Art. 23 obligations together.
            await report(http, reporter, clock, "520281", "盘州市某煤矿透水", deaths=10)
            live = json.loads(await asyncio.wait_for(ws.recv(), 10))
            expected = await visible_events(http, watcher)
    assert isinstance(replayed, list) and isinstance(live, list)
    assert [e["type"] for e in live] == [
        "incident.reported",
        "obligation.created",
        "obligation.created",
    ]
    assert replayed + live == expected  # every event once, in order, as GET /events shows it


async def burst(db: Database, clock: ManualClock, count: int, code: str = "520281") -> int:
    """`count` events of about 1 KB committed in one transaction; returns the last seq."""
    async with db.write() as session:
        last = None
        for i in range(count):
            last = await log.append(
                session,
                "incident.updated",
                at=clock.now(),
                division_codes=[code],
                data={"n": i, "pad": "x" * 1000},
            )
    assert last is not None
    return last.seq


async def test_a_client_that_stops_reading_is_closed_4008_and_resumes_without_a_gap(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server(ws_queue_limit=5)
    token, _ = await mint(db, clock, "io-520000", "viewer")
    # max_queue=1: the client library stops reading the socket once one message waits.
    ws = await websockets.connect(server.ws_url(after=0, token=token), max_queue=1)
    try:
        last = await burst(db, clock, 1200)
        for _ in range(500):  # the hub has fanned the burst out (SQLite: at its next poll)
            if server.hub.last_seq >= last:
                break
            await asyncio.sleep(0.02)
        got: list[dict[str, Any]] = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    finally:
        await ws.close()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
    assert len(got) < 1200
    seqs = [e["seq"] for e in got]
    assert seqs == list(range(last - 1199, last - 1199 + len(got)))

    # It comes back with after=<last seq it saw> and gets the rest, once each.
    resume_at = seqs[-1] if seqs else 0
    async with websockets.connect(server.ws_url(after=resume_at, token=token)) as ws2:
        rest = await recv_events(ws2, up_to(last))
    assert seqs + [e["seq"] for e in rest] == list(range(last - 1199, last + 1))


async def test_a_client_that_keeps_up_survives_a_burst(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server()  # the default queue of 1,000 events
    token, _ = await mint(db, clock, "io-520000", "viewer")
    async with websockets.connect(server.ws_url(token=token)) as ws:
        last = await burst(db, clock, 1200)
        got = await recv_events(ws, up_to(last), within=30)
    assert [e["data"]["n"] for e in got] == list(range(1200))


@pytest.mark.parametrize("notify_only", [True, False], ids=["notify", "poll"])
async def test_an_event_committed_through_one_instance_reaches_the_clients_of_another(
    start_server: StartServer,
    db: Database,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    notify_only: bool,
) -> None:
    if notify_only:
        if db.sqlite:
            pytest.skip("SQLite: one process per file; instances share it only by the poll")
        # No safety-net poll: only PostgreSQL NOTIFY can carry the event across.
        monkeypatch.setattr(hub_module, "POLL_SECONDS", 3600.0)
    a = await start_server()
    b = await start_server()
    watcher, _ = await mint(db, clock, "io-520000", "viewer")
    reporter, _ = await mint(db, clock, "520000", "reporter")
    async with websockets.connect(b.ws_url(after=0, token=watcher)) as ws:
        async with httpx.AsyncClient(base_url=a.base_url) as http:
            incident = await report(http, reporter, clock, "520281", "盘州市煤矿透水")
            expected = await visible_events(http, watcher)
        got = await recv_events(ws, up_to(expected[-1]["seq"]), within=10)
    assert got == expected
    assert got[0]["incident_id"] == incident["id"]


async def test_a_failure_inside_the_stream_closes_it_1011_rather_than_leaving_it_silent(
    start_server: StartServer, db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await start_server()
    token, _ = await mint(db, clock, "io-520000", "viewer")

    async def broken(*_: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(log, "read_after", broken)
    async with websockets.connect(server.ws_url(after=0, token=token)) as ws:
        assert await close_code(ws) == 1011


async def test_stopping_an_instance_tells_its_clients_to_come_back(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server()
    token, _ = await mint(db, clock, "io-520000", "viewer")
    async with websockets.connect(server.ws_url(token=token)) as ws:
        await server.stop()
        assert await close_code(ws) == 1012


async def test_readiness_reports_the_hub_and_metrics_count_clients_and_closes(
    start_server: StartServer, db: Database, clock: ManualClock
) -> None:
    server = await start_server()
    token, _ = await mint(db, clock, "io-520000", "viewer")
    refused_before = metrics.value("fabu_live_closed_total", code="4401")
    async with (
        httpx.AsyncClient(base_url=server.base_url) as http,
        websockets.connect(server.ws_url(token=token)) as ws,
    ):
        for _ in range(250):  # the handshake is answered before the hub counts the client
            if server.hub.client_count() == 1:
                break
            await asyncio.sleep(0.02)
        ready = await http.get("/readyz")
        text = (await http.get("/metrics")).text
        async with websockets.connect(server.ws_url(token="fabu_not-a-real-token")) as refused:
            assert await close_code(refused) == 4401
        await ws.close()
    assert ready.status_code == 200
    hub = ready.json()["checks"]["hub"]
    assert hub["ok"] is True and hub["clients"] == 1 and hub["last_seq"] == server.hub.last_seq
    assert "fabu_live_clients 1.0" in text.splitlines()
    assert metrics.value("fabu_live_closed_total", code="4401") == refused_before + 1
