"""The `fabu` command as a newcomer operator meets it: one clear line when something is
wrong, tokens that can be named, listed and revoked, quiet logs, links on the port served."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from app import cli
from app.auth import hash_token
from app.config import Settings, get_settings
from app.db import Database
from app.main import create_app
from tests.api.test_quickstart import Quickstart
from tests.conftest import PG_ADMIN_URL, _pg_admin, need_postgres

REPO = Path(__file__).resolve().parents[2]
NO_TABLES = (
    "no Fabu tables at {url}; run it from the checkout where fabu quickstart ran, "
    "or set FABU_DATABASE_URL (fabu db upgrade creates them)"
)
ROLES = "reporter, drafter, reviewer, approver, info_office, viewer, admin"


def fabu(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `fabu ARGV` in this process: its exit status, stdout and stderr."""
    get_settings.cache_clear()
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def seeded(
    terminal: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    monkeypatch.setenv("FABU_DATABASE_URL", db_url)
    assert fabu(capsys, "seed")[0] == 0
    return db_url


@pytest.mark.parametrize(
    "argv",
    [
        ("token", "create", "--org", "520281", "--roles", "reporter"),
        ("token", "list"),
        ("token", "revoke", "tok_x"),
        ("seed",),
        ("replay", "inc_x"),
    ],
    ids=" ".join,
)
def test_outside_the_checkout_a_command_says_where_it_looked_and_creates_no_database(
    terminal: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, out, err = fabu(capsys, *argv)

    command = " ".join(("fabu", *argv[: 2 if argv[0] == "token" else 1]))
    where = f"sqlite+aiosqlite:///./fabu.db ({(terminal / 'fabu.db').resolve()})"
    assert (code, out, err) == (2, "", f"{command}: {NO_TABLES.format(url=where)}\n")
    assert list(terminal.iterdir()) == []


def test_serve_outside_the_checkout_refuses_instead_of_serving_an_empty_database(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABU_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "9"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "fabu serve: "
        + NO_TABLES.format(url=f"sqlite+aiosqlite:///./fabu.db ({tmp_path.resolve()}/fabu.db)")
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_database_that_cannot_be_read_is_named_with_its_password_masked(
    terminal: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on the discard port.
    monkeypatch.setenv("FABU_DATABASE_URL", "postgresql+psycopg://fabu:s3cret@127.0.0.1:9/fabu")
    code, out, err = fabu(capsys, "token", "list")
    assert (code, out) == (2, "")
    assert err.startswith(
        "fabu token list: cannot read the database at "
        "postgresql+psycopg://fabu:***@127.0.0.1:9/fabu: "
    )
    assert len(err.splitlines()) == 1
    assert "s3cret" not in err

    (terminal / "notes.db").write_text("not a database\n")
    monkeypatch.setenv("FABU_DATABASE_URL", f"sqlite+aiosqlite:///{terminal / 'notes.db'}")
    assert fabu(capsys, "seed") == (
        2,
        "",
        f"fabu seed: cannot read the database at sqlite+aiosqlite:///{terminal / 'notes.db'}: "
        "file is not a database\n",
    )


@pytest.mark.postgres
def test_an_empty_postgresql_database_is_refused_with_its_password_masked(
    terminal: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    need_postgres()
    name = f"fabu_test_{os.getpid()}_empty"
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {name}")
    try:
        # Trust authentication ignores the password; the message must not show it.
        url = make_url(PG_ADMIN_URL).set(password="s3cret", database=name)
        monkeypatch.setenv("FABU_DATABASE_URL", url.render_as_string(hide_password=False))
        code, out, err = fabu(capsys, "replay", "inc_x")
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    shown = url.render_as_string(hide_password=True)
    assert ":***@" in shown
    assert (code, out, err) == (2, "", f"fabu replay: {NO_TABLES.format(url=shown)}\n")


def test_an_unknown_organ_or_role_makes_no_token(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fabu(capsys, "token", "create", "--org", "999999", "--roles", "reporter") == (
        2,
        "",
        "fabu token create: org_id: unknown organ 'gov-999999'\n",
    )
    assert fabu(capsys, "token", "create", "--org", "520281", "--roles", "reporter,reportr") == (
        2,
        "",
        f"fabu token create: unknown role 'reportr'; roles: {ROLES}\n",
    )
    assert fabu(capsys, "token", "create", "--org", "520281", "--roles", " , ") == (
        2,
        "",
        f"fabu token create: --roles names no role; roles: {ROLES}\n",
    )
    assert fabu(capsys, "token", "list") == (0, "", "no tokens\n")


async def _me(url: str, secret: str) -> int:
    """What the API answers the token's holder at GET /api/v1/me."""
    settings = Settings(
        database_url=url,
        scheduler_enabled=False,
        delivery_enabled=False,
        token_cache_seconds=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    db = Database(url)
    try:
        app = create_app(settings, db=db, start_services=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fabu.test") as client:
            response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        return response.status_code
    finally:
        await db.dispose()


def test_a_token_made_at_the_terminal_is_named_listed_and_revoked(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = fabu(
        capsys, "token", "create", "--org", "520281", "--roles", "viewer,reporter"
    )
    assert code == 0
    # `REPORTER=$(fabu token create ...)` takes the secret alone; the id goes to the terminal.
    secret = out.removesuffix("\n")
    assert re.fullmatch(r"fabu_[\w-]{43}", secret), out
    said = re.fullmatch(r"token (tok_\w+) for gov-520281 \(reporter, viewer\)\n", err)
    assert said, err
    token_id = said.group(1)
    assert asyncio.run(_me(seeded, secret)) == 200

    code, listed, _ = fabu(capsys, "token", "list")
    assert code == 0
    header, row = listed.splitlines()
    assert header.split() == [
        "id", "org", "roles", "created", "(Beijing)", "revoked", "(Beijing)", "name"
    ]  # fmt: skip
    cells = row.split(None, 6)
    assert cells[:3] == [token_id, "gov-520281", "reporter,viewer"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", f"{cells[3]} {cells[4]}")
    assert cells[5] == "-"  # not revoked
    # Not "created with the CLI": named after its organ and roles, as the API names it.
    assert cells[6] == "Panzhou City People's Government (reporter, viewer)"
    assert secret not in listed and hash_token(secret) not in listed
    assert fabu(capsys, "token", "list", "--org", "520281")[1] == listed
    assert fabu(capsys, "token", "list", "--org", "520000") == (0, "", "no tokens\n")

    assert fabu(capsys, "token", "revoke", token_id) == (
        0,
        "",
        f"token {token_id} for gov-520281 revoked\n",
    )
    assert asyncio.run(_me(seeded, secret)) == 401
    revoked = fabu(capsys, "token", "list")[1].splitlines()[1].split()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", revoked[5]), revoked

    code, out, err = fabu(capsys, "token", "revoke", token_id)
    assert (code, out) == (2, "")
    assert re.fullmatch(
        rf"fabu token revoke: token {token_id} was already revoked at "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Beijing time\)\n",
        err,
    ), err
    assert fabu(capsys, "token", "revoke", "tok_nope") == (
        2,
        "",
        "fabu token revoke: no token 'tok_nope' (fabu token list shows them)\n",
    )


def test_links_follow_the_address_served_unless_a_public_url_is_set(
    terminal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unset = Settings(_env_file=None)  # type: ignore[call-arg]
    assert cli.served_settings(unset, "127.0.0.1", 8123).public_url == "http://127.0.0.1:8123"
    assert cli.served_settings(unset, "fabu.local", 80).public_url == "http://fabu.local:80"
    assert cli.served_settings(unset, "::1", 8123).public_url == "http://[::1]:8123"
    # A wildcard bind is no address to link to; loopback at least works on the machine.
    assert cli.served_settings(unset, "0.0.0.0", 8000).public_url == "http://127.0.0.1:8000"
    assert cli.served_settings(unset, "::", 8000).public_url == "http://[::1]:8000"
    # Set explicitly, even to the default, it stays.
    for chosen in ("https://fabu.guizhou.gov.cn", "http://127.0.0.1:8000"):
        given = Settings(public_url=chosen, _env_file=None)  # type: ignore[call-arg]
        assert cli.served_settings(given, "127.0.0.1", 8123).public_url == chosen
    monkeypatch.setenv("FABU_PUBLIC_URL", "https://fabu.guizhou.gov.cn")
    from_env = Settings(_env_file=None)  # type: ignore[call-arg]
    assert cli.served_settings(from_env, "127.0.0.1", 8123).public_url == (
        "https://fabu.guizhou.gov.cn"
    )


def test_serve_hands_the_app_the_url_of_the_port_it_serves(
    seeded: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    import app.main

    given: list[Settings] = []

    def created(settings: Settings) -> object:
        given.append(settings)
        return object()

    monkeypatch.setattr(app.main, "create_app", created)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: None)
    assert fabu(capsys, "serve", "--port", "8123")[0] == 0
    assert [s.public_url for s in given] == ["http://127.0.0.1:8123"]


@pytest.mark.slow
def test_quickstart_logs_fabu_not_every_scheduler_job_and_links_to_its_own_port(
    tmp_path: Path,
) -> None:
    run = Quickstart(tmp_path)
    try:
        run.wait_ready()
        feed = httpx.get(f"{run.base}/api/v1/feeds/warnings.atom", timeout=5)
        assert f"<id>{run.base}/api/v1/feeds/warnings.atom</id>" in feed.text

        # The scheduler's 1 s job has run (it moves the tick) at least once since start.
        def tick() -> object:
            return httpx.get(f"{run.base}/readyz", timeout=5).json()["checks"]["scheduler"][
                "last_tick_at"
            ]

        first = tick()
        deadline = time.monotonic() + 30
        while tick() == first:
            assert time.monotonic() < deadline, "the scheduler did not tick again"
            time.sleep(0.1)
    finally:
        run.stop()
    output = run.output()
    # The migrations ran first in this process and did not silence Fabu's own INFO lines.
    assert re.search(r"INFO fabu.scheduler scheduler \S+ started as leader", output), output
    assert f"INFO fabu links use {run.base} (FABU_PUBLIC_URL is unset)" in output
    assert "Running job" not in output and "executed successfully" not in output, output
