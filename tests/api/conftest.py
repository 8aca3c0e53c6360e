"""A faster `db_url` for the API scenarios: the same fresh, seeded database, built once.

The root fixture drops and recreates every table for each test, which costs most of a
second per test on a busy machine, and the role matrix alone runs a few hundred tests.
Here SQLite copies a file made once per session, and PostgreSQL empties the tables it
created once.
Each test still starts from an empty, seeded database on both backends.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app import directory
from app.config import get_settings
from app.db import sync_url
from app.models import Base
from tests.conftest import (
    PG_URL,
    backend_params,
    need_postgres,
    reset_schema,
)


def _seed_sync(url: str) -> None:
    engine = create_engine(sync_url(url))
    with Session(engine) as session:
        divisions, orgs = directory.directory_rows()
        session.add_all(divisions)
        session.flush()
        session.add_all(orgs)  # parents first, and inserted in this order
        session.commit()
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "fabu.db"
    url = f"sqlite:///{path}"
    reset_schema(url)
    _seed_sync(url)
    return path


_pg_schema_ready = False


def _empty_pg(url: str) -> None:
    """Every row deleted, sequences restarted, then the directory seeded again.

    DELETE, not TRUNCATE: on tables this small it is several times faster.
    """
    global _pg_schema_ready
    if not _pg_schema_ready:
        # Other test directories rebuild the schema from the same metadata, so once is enough.
        reset_schema(url)
        _pg_schema_ready = True
    else:
        engine = create_engine(sync_url(url))
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
                column = table.autoincrement_column
                if column is not None:
                    conn.execute(
                        text("SELECT setval(pg_get_serial_sequence(:t, :c), 1, false)"),
                        {"t": table.name, "c": column.name},
                    )
        engine.dispose()
    _seed_sync(url)


@pytest.fixture(params=backend_params())
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if request.param == "postgres":
        need_postgres()
        _empty_pg(PG_URL)
        yield PG_URL
    else:
        path = tmp_path / "fabu.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A shell in an empty directory with no FABU_* variables set: a newcomer's."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("FABU_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
