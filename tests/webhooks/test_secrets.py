"""Webhook signing secrets at rest: sealed with FABU_SECRET_KEYS, opened only to sign."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from app.clock import ManualClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models.webhooks import WebhookSubscription
from app.secretbox import PREFIX
from tests.conftest import Api
from tests.webhooks.conftest import (
    attempts,
    deliveries,
    make_worker,
    report,
    run_once_with,
    subscribe,
)
from tests.webhooks.receiver import Receiver

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def keyed(settings: Settings, *keys: str) -> Settings:
    return settings.model_copy(update={"secret_keys": SecretStr(",".join(keys))})


async def stored_secret(db: Database, subscription_id: str) -> str:
    async with db.read() as session:
        row = await session.execute(
            select(WebhookSubscription.secret).where(WebhookSubscription.id == subscription_id)
        )
        return str(row.scalar_one())


@pytest.fixture
async def sealed_api(settings: Settings, db: Database, clock: ManualClock) -> AsyncIterator[Api]:
    app = create_app(keyed(settings, OLD_KEY), clock=clock, db=db, start_services=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as client:
        yield Api(client, db, clock)


async def test_with_a_key_the_database_never_holds_the_secret_yet_deliveries_verify(
    sealed_api: Api, settings: Settings, db: Database, clock: ManualClock, receiver: Receiver
) -> None:
    admin = await sealed_api.token("520000", "admin")
    reporter = await sealed_api.token("520000", "reporter")
    sub = await subscribe(sealed_api, admin, receiver, "/sealed")
    assert sub["secret"].startswith("whsec_")  # shown once, in clear
    stored = await stored_secret(db, sub["id"])
    assert stored.startswith(PREFIX) and sub["secret"] not in stored
    await report(sealed_api, reporter)
    assert await run_once_with(keyed(settings, OLD_KEY), db, clock) == 1
    [got] = receiver.at("/sealed")
    assert got.verified, got.error  # signed with the secret the publisher was shown


async def test_a_key_set_later_seals_old_secrets_at_start_and_a_new_first_key_reseals(
    api: Api,
    admin: dict[str, str],
    reporter: dict[str, str],
    settings: Settings,
    db: Database,
    clock: ManualClock,
    receiver: Receiver,
) -> None:
    sub = await subscribe(api, admin, receiver, "/later")  # no keys yet: stored as it is
    assert await stored_secret(db, sub["id"]) == sub["secret"]

    for keys in ((OLD_KEY,), (NEW_KEY, OLD_KEY), (NEW_KEY,)):
        worker = make_worker(keyed(settings, *keys), db, clock)
        await worker.start()  # seals (or reseals under the first key) before anything else
        await worker.stop()
        stored = await stored_secret(db, sub["id"])
        assert stored.startswith(PREFIX) and sub["secret"] not in stored
        # Whatever keys are configured now open it: the first one alone always does.
        assert (
            Fernet(keys[0].encode()).decrypt(stored.removeprefix(PREFIX).encode()).decode()
            == (sub["secret"])
        )

    await report(api, reporter)
    assert await run_once_with(keyed(settings, NEW_KEY), db, clock) == 1
    [got] = receiver.at("/later")
    assert got.verified, got.error


async def test_a_secret_no_key_opens_fails_the_attempt_and_is_retried_not_lost(
    sealed_api: Api, settings: Settings, db: Database, clock: ManualClock, receiver: Receiver
) -> None:
    admin = await sealed_api.token("520000", "admin")
    reporter = await sealed_api.token("520000", "reporter")
    sub = await subscribe(sealed_api, admin, receiver, "/lost-key")
    await report(sealed_api, reporter)
    await run_once_with(keyed(settings, NEW_KEY), db, clock)  # OLD_KEY was lost
    assert receiver.at("/lost-key") == []  # nothing unsigned or wrongly signed went out
    [delivery] = await deliveries(db, sub["id"])
    assert delivery.status == "pending" and delivery.next_attempt_at is not None
    [attempt] = await attempts(db, delivery.id)
    assert attempt.error is not None and "FABU_SECRET_KEYS" in attempt.error
