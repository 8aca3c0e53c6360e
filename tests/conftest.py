"""Shared fixtures: a database per backend, an app on a manual clock, tokens per role."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app import directory
from app.clock import ManualClock
from app.config import Settings
from app.db import Database, sync_url
from app.main import create_app
from app.models import Base
from app.workflows import tokens as tokens_wf

PG_ADMIN_URL = os.environ.get(
    "FABU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Each test process works in a database of its own, so that parallel runs never collide.
PG_DB = f"fabu_test_{os.getpid()}"
PG_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_DB
# In CI a missing PostgreSQL is a failure, not a skip.
REQUIRE_PG = os.environ.get("FABU_REQUIRE_PG") == "1"
T0 = datetime(2026, 11, 27, 2, 0, 0, tzinfo=UTC)


def _pg_admin(statement: str) -> None:
    engine = create_engine(
        sync_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2}
    )
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _pg_available() -> bool:
    try:
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE {PG_DB}")
        return True
    except Exception:
        return False


PG_AVAILABLE = _pg_available()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if PG_AVAILABLE:
        with contextlib.suppress(Exception):
            _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def need_postgres() -> None:
    """Skip without PostgreSQL, visibly; in CI (FABU_REQUIRE_PG=1) fail instead."""
    if PG_AVAILABLE:
        return
    if REQUIRE_PG:
        pytest.fail(f"PostgreSQL is required (FABU_REQUIRE_PG=1) but {PG_URL} is unreachable")
    pytest.skip(f"PostgreSQL not reachable at {PG_URL}")


def backend_params() -> list[object]:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def reset_schema(url: str) -> None:
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
        Base.metadata.create_all(conn)
    engine.dispose()


@pytest.fixture(params=backend_params())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        need_postgres()
        url = PG_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'fabu.db'}"
    reset_schema(url)
    yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        scheduler_enabled=False,
        delivery_enabled=False,
        allow_private_webhooks=True,
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    async with database.write() as session:
        await directory.seed(session)
    yield database
    await database.dispose()


class Api:
    """An HTTP client on the app with helpers to mint tokens for any organ and roles."""

    def __init__(self, client: httpx.AsyncClient, db: Database, clock: ManualClock) -> None:
        self.client = client
        self.db = db
        self.clock = clock

    async def token(self, org: str, *roles: str) -> dict[str, str]:
        async with self.db.write() as session:
            _, secret = await tokens_wf.issue(
                session,
                org_id=directory.resolve_org_argument(org),
                roles=list(roles),
                name="test",
                clock=self.clock,
                actor=None,
            )
        return {"Authorization": f"Bearer {secret}"}

    async def get(self, url: str, headers: dict[str, str], **kw: object) -> httpx.Response:
        return await self.client.get(url, headers=headers, **kw)  # type: ignore[arg-type]

    async def post(
        self, url: str, headers: dict[str, str], json: object = None, **kw: object
    ) -> httpx.Response:
        return await self.client.post(url, headers=headers, json=json, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def api(settings: Settings, db: Database, clock: ManualClock) -> AsyncIterator[Api]:
    app = create_app(settings, clock=clock, db=db, start_services=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as client:
        yield Api(client, db, clock)
