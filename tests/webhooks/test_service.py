"""The worker runs beside the API: a receiver that hangs holds up neither intake nor the
other publishers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from app.db import Database
from app.publishing.worker import LANE_SIZE, DeliveryWorker
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
