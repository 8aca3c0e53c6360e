"""The worker runs beside the API: a receiver that hangs holds up neither intake nor the
other publishers; the delivery log pages like every other list."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from app.db import Database
from app.publishing.worker import LANE_SIZE, DeliveryWorker
from app.workflows import webhooks as flow
from tests.conftest import Api
from tests.webhooks.conftest import deliveries, report, subscribe
from tests.webhooks.receiver import Answer, Receiver


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait for real I/O (not for a deadline: the clock stays where the test put it)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def test_a_hanging_receiver_holds_up_neither_intake_nor_other_publishers(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    receiver: Receiver,
    worker: DeliveryWorker,
    db: Database,
) -> None:
    release = threading.Event()

    def answer(path: str) -> Answer:
        if path == "/hanging":
            release.wait(timeout=30)
        return 200, {}, b"ok"

    receiver.answer = answer
    hanging = await subscribe(api, admin, receiver, "/hanging")
    await subscribe(api, admin, receiver, "/prompt")
    await worker.start()
    try:
        for n in range(3):
            await report(api, reporter, title=f"事故{n}")
        await eventually(lambda: len(receiver.at("/prompt")) == 3)
        await eventually(lambda: len(receiver.at("/hanging")) == 3)  # in flight, unanswered

        # Intake answers at once while those requests hang.
        started = time.monotonic()
        for n in range(3, 10):
            await report(api, reporter, title=f"事故{n}")
        assert time.monotonic() - started < 3.0
        await eventually(lambda: len(receiver.at("/prompt")) == 10)
        assert all(r.verified for r in receiver.at("/prompt"))
        # The hanging receiver has at most a lane's worth of requests open, no more.
        await eventually(lambda: len(receiver.at("/hanging")) == LANE_SIZE)
        assert len(receiver.at("/hanging")) == LANE_SIZE < 10

        release.set()

        async def all_delivered() -> bool:
            return [d.status for d in await deliveries(db, hanging["id"])] == ["delivered"] * 10

        deadline = time.monotonic() + 10
        while not await all_delivered():
            assert time.monotonic() < deadline, "hanging receiver's deliveries never completed"
            await asyncio.sleep(0.05)
        assert receiver.ids("/hanging") == receiver.ids("/prompt")
    finally:
        release.set()
        await worker.stop()


async def test_the_delivery_log_pages_with_cursor_like_the_other_lists(
    api: Api, admin: dict[str, str], reporter: dict[str, str], receiver: Receiver, db: Database
) -> None:
    sub = await subscribe(api, admin, receiver, "/paged")
    for n in range(7):
        await report(api, reporter, title=f"事故{n}")
    async with db.write() as session:
        await flow.enqueue(session, now=api.clock.now(), batch=100)
    url = f"/api/v1/webhooks/{sub['id']}/deliveries"

    async def walk(param: str) -> list[list[str]]:
        pages: list[list[str]] = []
        query: dict[str, object] = {"limit": 3}
        while True:
            page = (await api.get(url, admin, params=query)).json()
            pages.append([d["id"] for d in page["items"]])
            if page["next_cursor"] is None:
                return pages
            assert len(pages) < 10, "paging never ends"
            query = {"limit": 3, param: page["next_cursor"]}

    pages = await walk("cursor")
    assert [len(p) for p in pages] == [3, 3, 1]
    seen = [i for p in pages for i in p]
    assert len(set(seen)) == len(seen) == 7
    newest_first = [d.id for d in reversed(await deliveries(db, sub["id"]))]
    assert seen == newest_first
    # The older spelling still pages the same way.
    assert await walk("before") == pages

    for cursor in ("abc", "9" * 20):  # 20 nines: digits, but past any seq (2**63 - 1)
        bad = await api.get(url, admin, params={"cursor": cursor})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "cursor"
    beyond = await api.get(url, admin, params={"before": 2**63})
    assert beyond.status_code == 422
    assert beyond.json()["errors"][0]["field"] == "before"
    last = await api.get(url, admin, params={"before": 2**63 - 1})
    assert [d["id"] for d in last.json()["items"]] == newest_first[:50]
    first_cursor = (await api.get(url, admin, params={"limit": 3})).json()["next_cursor"]
    both = await api.get(url, admin, params={"cursor": first_cursor, "before": 1})
    assert both.status_code == 422
    assert both.json()["errors"][0]["field"] == "before"
