"""Publishers receive every matching event, signed, with its seq; failures are retried on the
Standard Webhooks schedule and nothing is lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from sqlalchemy import select

from app.clock import ManualClock, iso
from app.config import Settings
from app.db import Database
from app.models import AuditEntry
from app.models.webhooks import WebhookDelivery
from app.publishing import policy
from app.publishing.render import WECHAT_TITLE_LIMIT, WEIBO_TEXT_LIMIT
from app.publishing.worker import CLAIM_LEASE, DeliveryWorker
from app.workflows import webhooks as flow
from tests.conftest import Api
from tests.webhooks.conftest import (
    NANMING,
    PANZHOU,
    attempts,
    deliveries,
    publish_event,
    report,
    reported_event_ids,
    run_once_with,
    subscribe,
)
from tests.webhooks.receiver import Receiver

SCHEDULE = policy.RETRY_SCHEDULE


def within_jitter(delay: timedelta, nominal: timedelta) -> bool:
    return nominal * (1 - policy.JITTER) <= delay <= nominal * (1 + policy.JITTER)


async def try_ten_times(
    worker: DeliveryWorker, db: Database, clock: ManualClock, subscription_id: str
) -> WebhookDelivery:
    """Send the subscription's one delivery at each due time of the schedule, ten attempts
    in all (the receiver failing them, as the caller arranged); the delivery after."""
    assert await worker.run_once() == 1
    for _ in range(9):
        [d] = await deliveries(db, subscription_id)
        assert d.status == "pending" and d.next_attempt_at is not None
        clock.set(d.next_attempt_at)
        assert await worker.run_once() == 1
    [d] = await deliveries(db, subscription_id)
    return d


async def test_each_reported_incident_reaches_the_publisher_signed_with_its_seq(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
) -> None:
    sub = await subscribe(api, admin, receiver, "/client")
    for n in range(3):
        await report(api, reporter, title=f"第{n + 1}起煤矿透水事故")

    assert await worker.run_once() == 3

    # Sent side by side, they may arrive in any order; the seq puts them back in order.
    got = sorted(receiver.at("/client"), key=lambda r: r.body["seq"])
    assert [r.verified for r in got] == [True, True, True], [r.error for r in got]
    assert [r.webhook_id for r in got] == await reported_event_ids(db)
    first = got[0]
    assert first.body["id"] == first.webhook_id
    assert first.body["type"] == "incident.reported"
    assert first.body["data"]["title"] == "第1起煤矿透水事故"
    assert "rendered" not in first.body
    assert first.headers["content-type"] == "application/json"
    # The timestamp is the wall time of sending, in UTC seconds.
    sent = datetime.fromtimestamp(int(first.headers["webhook-timestamp"]), UTC)
    assert abs(datetime.now(UTC) - sent) < timedelta(minutes=1)

    log = (await api.get(f"/api/v1/webhooks/{sub['id']}/deliveries", admin)).json()
    assert [d["status"] for d in log["items"]] == ["delivered"] * 3
    newest = log["items"][0]
    assert newest["attempts"] == 1 and newest["next_attempt_at"] is None
    [attempt] = newest["attempt_log"]
    assert attempt["status_code"] == 200
    assert attempt["outcome"] == "delivered"
    assert attempt["response_excerpt"] == "ok"
    assert attempt["latency_ms"] > 0
    # Nothing more to send: a second pass sends nothing again.
    assert await worker.run_once() == 0
    assert len(receiver.at("/client")) == 3


async def test_a_published_release_is_rendered_for_each_channel_it_names(
    api: Api,
    admin: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
    clock: ManualClock,
) -> None:
    await subscribe(api, admin, receiver, "/wechat", channel="wechat", event_types=["release.*"])
    published = ["release.published"]
    await subscribe(api, admin, receiver, "/weibo", channel="weibo", event_types=published)
    await subscribe(api, admin, receiver, "/website", channel="website", event_types=published)
    await subscribe(api, admin, receiver, "/client", channel="generic", event_types=["*"])
    title = "关于盘州市某煤矿透水事故救援进展情况的第二次通报（截至11月27日10时）"
    body = "经全力搜救，4名被困人员已全部升井。" * 30 + "Rescue teams 🚒 remain on site."
    event_id = await publish_event(
        db,
        clock.now(),
        {
            "id": "rel_0001",
            "kind": "follow_up",
            "title": title,
            "body": body,
            "channels": ["wechat", "weibo", "client"],
            "facts": {"place": "盘州市某煤矿"},
            "incident_id": None,
            "published_at": "2026-11-27T02:00:00Z",
            "url": "https://www.guizhou.gov.cn/releases/rel_0001",
            "org_id": "gov-520281",
            "org_name_zh": "盘州市人民政府",
            "org_name_en": "Panzhou People's Government",
            "division_codes": [PANZHOU],
        },
    )

    await worker.run_once()

    [wechat] = receiver.at("/wechat")
    assert wechat.verified and wechat.webhook_id == event_id
    article = wechat.body["rendered"]
    assert len(article["title"]) <= WECHAT_TITLE_LIMIT and article["title"].endswith("…")
    assert article["author"] == "盘州市人民政府"
    assert article["content_source_url"] == "https://www.guizhou.gov.cn/releases/rel_0001"
    [weibo] = receiver.at("/weibo")
    post = weibo.body["rendered"]["text"]
    assert len(post) <= WEIBO_TEXT_LIMIT
    assert post.endswith(" https://www.guizhou.gov.cn/releases/rel_0001")
    # The release did not name the website: its publisher is not sent it.
    assert receiver.at("/website") == []
    [client] = receiver.at("/client")
    assert client.body["rendered"]["title"] == title
    assert client.body["data"]["body"] == body


async def test_receiver_down_then_failing_then_back_gets_every_event_on_schedule(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
    clock: ManualClock,
) -> None:
    sub = await subscribe(api, admin, receiver, "/client")
    receiver.stop()  # connections refused
    for n in range(5):
        await report(api, reporter, title=f"事故{n}")
    expected = set(await reported_event_ids(db))

    async def due_pass() -> int:
        """Move the clock to when the last pending delivery falls due, and send."""
        pending = [d for d in await deliveries(db, sub["id"]) if d.status == "pending"]
        latest = max(d.next_attempt_at for d in pending if d.next_attempt_at)
        # A second short of it nothing goes out: retries are never early.
        earliest = min(d.next_attempt_at for d in pending if d.next_attempt_at)
        if earliest > clock.now():
            clock.set(earliest - timedelta(seconds=1))
            assert await worker.run_once() == 0
        clock.set(latest)
        return await worker.run_once()

    assert await worker.run_once() == 5  # attempt 1: refused
    assert await due_pass() == 5  # attempt 2, 5 s later: refused
    receiver.answer = lambda _p: (500, {}, b"database unavailable")
    receiver.start()
    assert await due_pass() == 5  # attempt 3, 5 min later: 500
    assert await due_pass() == 5  # attempt 4, 30 min later: 500
    receiver.answer = lambda _p: (200, {}, b"ok")
    assert await due_pass() == 5  # attempt 5, 2 h later: delivered
    assert await worker.run_once() == 0

    delivered = [r for r in receiver.at("/client") if r.body and r.verified]
    assert {r.webhook_id for r in delivered} == expected  # none lost
    for d in await deliveries(db, sub["id"]):
        assert d.status == "delivered" and d.attempts == 5
        log = await attempts(db, d.id)
        assert [a.status_code for a in log] == [None, None, 500, 500, 200]
        assert log[0].error is not None and log[0].error.startswith("connect failed")
        assert log[2].response_excerpt == "database unavailable"
        for number, a in enumerate(log[:-1], start=1):
            assert a.next_attempt_at is not None
            assert within_jitter(a.next_attempt_at - a.started_at, SCHEDULE[number])
            assert log[number].started_at >= a.next_attempt_at


async def test_after_the_tenth_failure_a_delivery_is_dead_until_redelivered_by_hand(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
    clock: ManualClock,
) -> None:
    sub = await subscribe(api, admin, receiver, "/client")
    receiver.answer = lambda _p: (500, {}, b"")
    await report(api, reporter)
    start = clock.now()
    d = await try_ten_times(worker, db, clock, sub["id"])
    assert d.status == "dead" and d.attempts == 10 and d.next_attempt_at is None
    # About three days of trying: the whole schedule, within its jitter.
    total = sum(SCHEDULE, timedelta())
    assert within_jitter(clock.now() - start, total)
    log = await attempts(db, d.id)
    assert [a.outcome for a in log] == ["retry"] * 9 + ["dead"]

    clock.advance(days=7)
    assert await worker.run_once() == 0  # dead letters are not retried on their own
    assert len(receiver.at("/client")) == 10

    receiver.answer = lambda _p: (204, {}, b"")
    response = await api.post(f"/api/v1/deliveries/{d.id}/redeliver", admin)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    again = await api.post(f"/api/v1/deliveries/{d.id}/redeliver", admin)
    assert again.status_code == 409
    assert await worker.run_once() == 1
    view = (await api.get(f"/api/v1/deliveries/{d.id}", admin)).json()
    assert view["status"] == "delivered" and view["attempts"] == 11
    assert view["attempt_log"][-1]["status_code"] == 204


async def test_a_redelivered_dead_letter_gets_the_whole_schedule_again(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
    clock: ManualClock,
) -> None:
    sub = await subscribe(api, admin, receiver, "/client")
    receiver.answer = lambda _p: (500, {}, b"")
    await report(api, reporter)
    d = await try_ten_times(worker, db, clock, sub["id"])
    assert (d.status, d.attempts) == ("dead", 10)

    clock.advance(days=1)
    redelivered = await api.post(f"/api/v1/deliveries/{d.id}/redeliver", admin)
    assert redelivered.json()["next_attempt_at"] == iso(clock.now())  # at once
    assert await worker.run_once() == 1
    # Attempt 11 failed too: the first wait of a new round (5 s), not a dead letter.
    [d] = await deliveries(db, sub["id"])
    assert (d.status, d.attempts) == ("pending", 11)
    assert d.next_attempt_at is not None
    assert within_jitter(d.next_attempt_at - clock.now(), SCHEDULE[1])
    assert [a.outcome for a in await attempts(db, d.id)][-1] == "retry"


async def test_a_claim_lapses_after_exactly_thirty_seconds(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
    clock: ManualClock,
) -> None:
    """A worker that claimed a delivery and died before recording it holds it for the
    lease, then any worker sends it again (at least once)."""
    lease = timedelta(seconds=30)
    sub = await subscribe(api, admin, receiver, "/client")
    await report(api, reporter)
    await worker.scan()
    claimed_at = clock.now()
    async with db.write() as session:
        [(target, claimed)] = await flow.claim_many(
            session, [(sub["id"], 8)], now=claimed_at, lease=CLAIM_LEASE
        )
    assert target is not None and len(claimed) == 1  # ... and the claimant dies here

    clock.set(claimed_at + lease - timedelta(microseconds=1))
    assert await worker.deliver_due() == 0
    clock.set(claimed_at + lease)
    assert await worker.deliver_due() == 1
    assert [r.webhook_id for r in receiver.at("/client")] == [claimed[0].event.id]
    assert [d.status for d in await deliveries(db, sub["id"])] == ["delivered"]


async def test_410_gone_switches_the_subscription_off_and_spares_the_others(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
    clock: ManualClock,
) -> None:
    gone = await subscribe(api, admin, receiver, "/gone")
    alive = await subscribe(api, admin, receiver, "/alive")
    receiver.answer = lambda p: (410, {}, b"") if p == "/gone" else (200, {}, b"ok")
    await report(api, reporter)
    await worker.run_once()

    view = (await api.get(f"/api/v1/webhooks/{gone['id']}", admin)).json()
    assert view["active"] is False
    assert "410" in view["disabled_reason"]
    [dead] = await deliveries(db, gone["id"])
    assert dead.status == "dead"
    assert [d.status for d in await deliveries(db, alive["id"])] == ["delivered"]
    # The system switched it off, on the record.
    async with db.read() as session:
        [entry] = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "webhook.disable"))
        ).scalars()
    assert (entry.entity_id, entry.token_id, entry.reason) == (gone["id"], None, "410 Gone")
    assert entry.before is not None and entry.before["active"] is True
    assert entry.after is not None and entry.after["active"] is False

    # Switched off, it is sent nothing new; the others carry on.
    await report(api, reporter)
    clock.advance(hours=1)
    await worker.run_once()
    assert len(receiver.at("/gone")) == 1
    assert len(receiver.at("/alive")) == 2
    assert len(await deliveries(db, gone["id"])) == 1

    # The publisher is back: switched on again, it gets events from then on, and the dead
    # letter can be sent again by hand.
    receiver.answer = lambda _p: (200, {}, b"ok")
    response = await api.client.patch(
        f"/api/v1/webhooks/{gone['id']}", headers=admin, json={"active": True}
    )
    assert response.status_code == 200 and response.json()["active"] is True
    assert response.json()["disabled_reason"] is None
    assert (await api.post(f"/api/v1/deliveries/{dead.id}/redeliver", admin)).status_code == 202
    await report(api, reporter)
    await worker.run_once()
    assert [d.status for d in await deliveries(db, gone["id"])] == ["delivered", "delivered"]


async def test_429_with_retry_after_waits_as_long_as_the_receiver_asks(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
    clock: ManualClock,
) -> None:
    sub = await subscribe(api, admin, receiver, "/client")
    receiver.answer = lambda _p: (429, {"Retry-After": "120"}, b"slow down")
    await report(api, reporter)
    await worker.run_once()
    [d] = await deliveries(db, sub["id"])
    assert d.next_attempt_at == clock.now() + timedelta(seconds=120)  # not 5 s

    clock.advance(seconds=6)
    assert await worker.run_once() == 0
    # A 503 with an HTTP-date: waits until then.
    until = clock.now() + timedelta(minutes=15)
    receiver.answer = lambda _p: (503, {"Retry-After": format_datetime(until, usegmt=True)}, b"")
    clock.advance(seconds=114)
    assert await worker.run_once() == 1
    [d] = await deliveries(db, sub["id"])
    assert d.next_attempt_at == until.replace(microsecond=0)

    receiver.answer = lambda _p: (200, {}, b"ok")
    clock.set(until)
    assert await worker.run_once() == 1
    [d] = await deliveries(db, sub["id"])
    assert d.status == "delivered"
    assert [a.status_code for a in await attempts(db, d.id)] == [429, 503, 200]


async def test_a_redirect_is_a_failure_and_is_not_followed(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
) -> None:
    sub = await subscribe(api, admin, receiver, "/client")
    elsewhere = receiver.url("/elsewhere")
    receiver.answer = lambda _p: (302, {"Location": elsewhere}, b"")
    await report(api, reporter)
    await worker.run_once()

    assert receiver.requests == ["/client"]  # /elsewhere never asked for
    [d] = await deliveries(db, sub["id"])
    assert d.status == "pending" and d.last_status_code == 302
    [a] = await attempts(db, d.id)
    assert a.outcome == "retry"
    assert a.error is not None and "not followed" in a.error


async def test_the_delivery_log_keeps_the_first_kilobyte_of_the_answer(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
) -> None:
    sub = await subscribe(api, admin, receiver, "/client")
    # 3-byte characters: byte 1024 falls inside one; the excerpt stops before it.
    receiver.answer = lambda _p: (500, {}, ("错" * 2000).encode())
    await report(api, reporter)
    await worker.run_once()
    [d] = await deliveries(db, sub["id"])
    [a] = await attempts(db, d.id)
    assert a.response_excerpt == "错" * 341
    assert len(a.response_excerpt.encode()) <= 1024


async def test_an_organ_scope_sends_only_events_in_its_jurisdiction(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
) -> None:
    await subscribe(api, admin, receiver, "/guiyang", org_id="520100")
    await subscribe(api, admin, receiver, "/province")
    await report(api, reporter, division=NANMING, title="南明区火灾")
    await report(api, reporter, division=PANZHOU, title="盘州市透水")
    await worker.run_once()
    assert [r.body["data"]["title"] for r in receiver.at("/guiyang")] == ["南明区火灾"]
    assert len(receiver.at("/province")) == 2


async def test_events_before_the_subscription_are_not_sent(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
) -> None:
    await report(api, reporter, title="订阅之前")
    await worker.run_once()
    await subscribe(api, admin, receiver, "/client")
    await report(api, reporter, title="订阅之后")
    await worker.run_once()
    assert [r.body["data"]["title"] for r in receiver.at("/client")] == ["订阅之后"]


async def test_a_name_that_now_points_inside_is_refused_before_sending(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    settings: Settings,
    db: Database,
    clock: ManualClock,
) -> None:
    created = await api.post(
        "/api/v1/webhooks",
        admin,
        json={
            "url": f"http://publisher.example.cn:{receiver.port}/hook",
            "channel": "generic",
            "event_types": ["incident.reported"],
        },
    )
    assert created.status_code == 201

    async def rebound(host: str) -> list[str]:
        return ["127.0.0.1"]  # it resolved to a public address when subscribed

    strict = settings.model_copy(update={"allow_private_webhooks": False})
    await report(api, reporter)
    assert await run_once_with(strict, db, clock, resolve=rebound) == 1
    assert receiver.requests == []
    [d] = await deliveries(db, created.json()["id"])
    assert d.status == "pending" and d.last_status_code is None
    assert d.last_error == (
        "refused: host 'publisher.example.cn' resolves to a non-public address 127.0.0.1"
    )


async def test_delivered_deliveries_are_pruned_after_the_retention_period_dead_ones_kept(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
    clock: ManualClock,
) -> None:
    ok = await subscribe(api, admin, receiver, "/ok")
    down = await subscribe(api, admin, receiver, "/down")
    receiver.answer = lambda p: (204, {}, b"") if p == "/ok" else (410, {}, b"gone")
    await report(api, reporter, title="九十天前的事故")
    assert await worker.run_once() == 2
    [old] = await deliveries(db, ok["id"])
    [dead] = await deliveries(db, down["id"])
    assert (old.status, dead.status) == ("delivered", "dead")

    clock.advance(timedelta(days=60))
    await report(api, reporter, title="三十天前的事故")
    assert await worker.run_once() == 1  # /down was disabled by its 410
    recent = (await deliveries(db, ok["id"]))[-1]

    clock.advance(timedelta(days=30))  # the first is exactly 90 days old: kept
    assert await worker.prune() == 0
    clock.advance(timedelta(seconds=1))  # 90 days and a second: gone
    assert await worker.prune() == 1
    assert [d.id for d in await deliveries(db, ok["id"])] == [recent.id]
    assert await attempts(db, old.id) == []  # its attempt log went with it
    assert len(await attempts(db, recent.id)) == 1
    # Dead letters wait for a person, however old.
    assert [d.id for d in await deliveries(db, down["id"])] == [dead.id]
    r = await api.get(f"/api/v1/webhooks/{ok['id']}/deliveries", admin)
    assert [d["id"] for d in r.json()["items"]] == [recent.id]
    assert await worker.prune() == 0  # nothing more is old enough
