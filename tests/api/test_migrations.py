"""The Alembic migrations build the schema the models describe, and take it down again."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.cli import db_downgrade, db_upgrade
from app.db import sync_url
from app.models import Base
from tests.conftest import (
    PG_ADMIN_URL,
    _pg_admin,
    backend_params,
    need_postgres,
)

SCRATCH_DB = f"fabu_migrations_{os.getpid()}"


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    # Alembic's env.py applies alembic.ini's logging config; leave the session's as it was.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    named = {n: logging.getLogger(n).level for n in ("alembic", "sqlalchemy", "sqlalchemy.engine")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in named.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture(params=backend_params())
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    need_postgres()
    _pg_admin(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {SCRATCH_DB}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + SCRATCH_DB
    finally:
        with contextlib.suppress(Exception):
            _pg_admin(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


# The core every other table hangs from; that the migration has all of them, and exactly
# as the models say, is the next test's business.
CORE = {"divisions", "orgs", "api_tokens", "incidents", "events", "audit_entries", "obligations"}


def test_upgrade_head_builds_the_schema_and_downgrade_base_removes_it(empty_url: str) -> None:
    assert _tables(empty_url) == set()
    db_upgrade(empty_url, "head")
    built = _tables(empty_url)
    assert built >= CORE | {"alembic_version"}

    db_downgrade(empty_url, "base")
    assert _tables(empty_url) <= {"alembic_version"}

    # And back up again: the round trip leaves nothing behind that blocks it.
    db_upgrade(empty_url, "head")
    assert _tables(empty_url) == built


def test_the_migrations_and_the_models_agree(empty_url: str) -> None:
    """Autogenerate, run against a migrated database, finds nothing to add or change."""
    db_upgrade(empty_url, "head")
    engine = create_engine(sync_url(empty_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models and migrations differ; regenerate the migration:\n" + (
        "\n".join(repr(d) for d in differences)
    )
