"""The `fabu` command: serve, db upgrade/downgrade, seed, token create/list/revoke,
secret-key, quickstart, replay."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote, urlsplit

from sqlalchemy import create_engine, inspect, make_url, select

from app import directory, logging_filters
from app.auth import Role
from app.clock import SystemClock, beijing
from app.config import Settings, get_settings
from app.db import Database, is_sqlite, sync_url
from app.errors import Problem

if TYPE_CHECKING:
    from app.models import ApiToken

DEMO_TOKEN_NAME = "demo admin (quick start)"
log = logging.getLogger("fabu")
T = TypeVar("T")


class CommandError(Exception):
    """A refusal the operator can act on: one line on stderr, exit status 2."""


def _alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    # The CLI has set up logging already; alembic.ini's would silence Fabu's INFO lines.
    cfg.attributes["configure_logger"] = False
    return cfg


def db_upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


def db_downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(_alembic_config(url), revision)


# -- is there a Fabu database at the url? ------------------------------------------------------


def shown_url(url: str) -> str:
    """The url for a message: password masked; a relative SQLite path also made absolute."""
    parsed = make_url(url)
    text = parsed.render_as_string(hide_password=True)
    if is_sqlite(url) and parsed.database and parsed.database != ":memory:":
        path = Path(_sqlite_path(parsed.database, parsed.query))
        if not path.is_absolute():
            text += f" ({path.resolve()})"
    return text


def _sqlite_path(database: str, query: Mapping[str, object]) -> str:
    """The file of a SQLite url, also in its `file:...?uri=true` form."""
    uri = str(query.get("uri", "")).lower() in ("true", "1")
    return urlsplit(database).path if uri else database


def _table_names(url: str) -> set[str]:
    """The tables at `url`, opening nothing that is not there already."""
    parsed = make_url(url)
    if is_sqlite(url):
        if not parsed.database or parsed.database == ":memory:":
            return set()
        path = Path(_sqlite_path(parsed.database, parsed.query))
        if not path.is_file():
            return set()
        # mode=rw: never create the file, even if it vanished since the look above.
        lite = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True)
        try:
            rows = lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {name for (name,) in rows}
        finally:
            lite.close()
    engine = create_engine(sync_url(url), connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def require_schema(url: str) -> None:
    """Refuse, in one line, to work on a database without Fabu's tables (or none at all)."""
    from app.models import Base

    try:
        names = _table_names(url)
    except Exception as exc:  # any driver's refusal: the operator needs its words, not a trace
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = said[0] if said else type(exc).__name__
        raise CommandError(f"cannot read the database at {shown_url(url)}: {reason}") from exc
    if not names & set(Base.metadata.tables):
        raise CommandError(
            f"no Fabu tables at {shown_url(url)}; run it from the checkout where fabu quickstart "
            "ran, or set FABU_DATABASE_URL (fabu db upgrade creates them)"
        )


# -- commands ---------------------------------------------------------------------------------


def on_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` to its end on the database at `url`, its connections closed however it ends."""

    async def run() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


async def _seed(db: Database) -> int:
    async with db.write() as session:
        return await directory.seed(session)


def parse_roles(text: str) -> list[str]:
    roles = [r.strip() for r in text.split(",") if r.strip()]
    known = ", ".join(Role)
    if not roles:
        raise CommandError(f"--roles names no role; roles: {known}")
    for role in roles:
        if role not in Role.__members__:
            raise CommandError(f"unknown role {role!r}; roles: {known}")
    # In the order the token keeps them, so that the name made from them reads the same.
    return sorted(set(roles))


async def _token_create(
    db: Database, org: str, roles: list[str], name: str | None, *, once: bool = False
) -> tuple[ApiToken, str] | None:
    from app.models import ApiToken
    from app.workflows import tokens

    async with db.write() as session:
        if once:
            existing = await session.execute(select(ApiToken.id).where(ApiToken.name == name))
            if existing.first() is not None:
                return None
        return await tokens.issue(
            session,
            org_id=directory.resolve_org_argument(org),
            roles=roles,
            # Without a name, the workflow names it after its organ and roles.
            name=name,
            clock=SystemClock(),
            actor=None,
        )


def _beijing(at: datetime | None) -> str:
    return "-" if at is None else beijing(at)


async def _token_list(db: Database, org: str | None) -> list[ApiToken]:
    from app.models import ApiToken, Org

    async with db.read() as session:
        query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
        if org is not None:
            org_id = directory.resolve_org_argument(org)
            if await session.get(Org, org_id) is None:
                raise CommandError(f"--org: unknown organ {org_id!r}")
            query = query.where(ApiToken.org_id == org_id)
        return list((await session.execute(query)).scalars())


def token_table(rows: list[ApiToken]) -> str:
    """Aligned columns, never the secret nor its hash; the name last, as it has spaces."""
    header = ("id", "org", "roles", "created (Beijing)", "revoked (Beijing)", "name")
    table = [header] + [
        (
            t.id,
            t.org_id,
            ",".join(t.roles),
            _beijing(t.created_at),
            _beijing(t.revoked_at),
            t.name,
        )
        for t in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True))
        + f"  {row[-1]}\n"
        for row in table
    )


async def _token_revoke(db: Database, token_id: str) -> ApiToken:
    from app.models import ApiToken
    from app.replay import province_actor
    from app.workflows import tokens

    async with db.write() as session:
        token = await session.get(ApiToken, token_id)
        if token is None:
            raise CommandError(f"no token {token_id!r} (fabu token list shows them)")
        if token.revoked_at is not None:
            raise CommandError(
                f"token {token_id} was already revoked at {_beijing(token.revoked_at)} "
                "(Beijing time)"
            )
        await tokens.revoke(session, token_id, clock=SystemClock(), actor=province_actor())
        return token


def ensure_secret_key(env_file: Path) -> bool:
    """Give a quick-start install a key for webhook secrets at rest, kept in `env_file`.

    The quick start needs nothing but Python, yet a demo that stores publisher signing
    secrets in clear teaches the wrong habit. So when FABU_SECRET_KEYS is set nowhere, a new
    key is appended to the .env file that the settings already read.
    Returns whether a key was written.
    """
    if get_settings().secret_keys is not None:
        return False
    from app.secretbox import generate_key

    fresh = not env_file.exists()
    before = "" if fresh else env_file.read_text(encoding="utf-8")
    # Owner-only, whether made now or found (a .env is often 0644), and never through a
    # link: the key must not become readable by others.
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        if before and not before.endswith("\n"):
            f.write("\n")
        f.write(f"FABU_SECRET_KEYS={generate_key()}\n")
    get_settings.cache_clear()
    return True


def public_url_for(host: str, port: int) -> str:
    """The base of links when FABU_PUBLIC_URL is unset: where this process is served.

    A wildcard bind (0.0.0.0, ::) is no address to link to; loopback at least works on
    this machine, and an install reached from elsewhere sets FABU_PUBLIC_URL.
    """
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return f"http://{host or '127.0.0.1'}:{port}"
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{port}"


def served_settings(settings: Settings, host: str, port: int) -> Settings:
    """The settings as served on host:port: a public url nobody set follows them."""
    if "public_url" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"public_url": public_url_for(host, port)})


def serve(host: str, port: int) -> None:
    import uvicorn

    from app.main import create_app

    configured = get_settings()
    settings = served_settings(configured, host, port)
    if settings is not configured:
        log.info("links use %s (FABU_PUBLIC_URL is unset)", settings.public_url)
    config = uvicorn.Config(
        create_app(settings), host=host, port=port, log_level=settings.log_level
    )
    # uvicorn configures its loggers when the Config is made: the filter goes on after that.
    logging_filters.install()
    uvicorn.Server(config).run()


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # APScheduler reports every run of the 1 s scheduler jobs at INFO, and Alembic each of
    # its plugins before a migration: noise, unless one is debugging.
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for noisy in ("apscheduler", "alembic.runtime.plugins"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fabu", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the service")
    p_serve.add_argument("--host", default=settings.host)
    p_serve.add_argument("--port", type=int, default=settings.port)
    p_db = sub.add_parser("db", help="migrations")
    p_db.add_argument("action", choices=["upgrade", "downgrade"])
    p_db.add_argument("revision", nargs="?")
    sub.add_parser("seed", help="seed the Guizhou directory (idempotent)")
    p_token = sub.add_parser("token", help="API tokens: create, list, revoke")
    token_sub = p_token.add_subparsers(dest="action", required=True)
    p_create = token_sub.add_parser(
        "create", help="print a new token's secret (once) on stdout, its id on stderr"
    )
    p_create.add_argument(
        "--org", required=True, help="organ id, or a division code for its government"
    )
    p_create.add_argument("--roles", required=True, help=f"comma-separated, of: {', '.join(Role)}")
    p_create.add_argument("--name", help="default: the organ's name and the roles")
    p_list = token_sub.add_parser("list", help="tokens (never their secrets), times in Beijing")
    p_list.add_argument("--org", help="only this organ's (id, or a division code)")
    p_revoke = token_sub.add_parser("revoke", help="revoke a token at once")
    p_revoke.add_argument("id", help="token id (tok_...)")
    sub.add_parser(
        "secret-key", help="print a new key for FABU_SECRET_KEYS (webhook secrets at rest)"
    )
    p_replay = sub.add_parser(
        "replay", help="an incident's accountability timeline, or its events, from the database"
    )
    p_replay.add_argument("incident", help="incident id (inc_...)")
    shown = p_replay.add_mutually_exclusive_group()
    shown.add_argument("--format", choices=["text", "csv", "json", "html"], default="text")
    shown.add_argument(
        "--events", action="store_true", help="the incident's events as JSON lines, in seq order"
    )
    p_quick = sub.add_parser(
        "quickstart", help="migrate, seed, print a demo admin token once, serve"
    )
    p_quick.add_argument("--host", default=settings.host)
    p_quick.add_argument("--port", type=int, default=settings.port)
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    args = _parser(settings).parse_args(argv)
    configure_logging(settings.log_level)
    name = " ".join(
        ["fabu", args.command] + ([args.action] if args.command in ("db", "token") else [])
    )
    try:
        _run(args, settings.database_url)
    except CommandError as refused:
        print(f"{name}: {refused}", file=sys.stderr)
        return 2
    except Problem as problem:
        subject = f"{args.incident}: " if args.command == "replay" else ""
        print(f"{name}: {subject}{problem.detail}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace, url: str) -> None:
    if args.command in ("serve", "seed", "token", "replay"):
        require_schema(url)

    if args.command == "serve":
        serve(args.host, args.port)
    elif args.command == "db":
        if args.action == "upgrade":
            db_upgrade(url, args.revision or "head")
        else:
            db_downgrade(url, args.revision or "base")
    elif args.command == "seed":
        added = on_database(url, _seed)
        print(f"directory seeded ({added} rows added)")
    elif args.command == "token":
        _token(args, url)
    elif args.command == "secret-key":
        from app.secretbox import generate_key

        print(generate_key())
    elif args.command == "replay":
        from app.replay import replay

        shown = on_database(
            url,
            lambda db: replay(
                db, args.incident, SystemClock(), fmt=args.format, events=args.events
            ),
        )
        sys.stdout.write(shown)
    elif args.command == "quickstart":
        _quickstart(args.host, args.port, url)


def _token(args: argparse.Namespace, url: str) -> None:
    if args.action == "create":
        roles = parse_roles(args.roles)
        made = on_database(url, lambda db: _token_create(db, args.org, roles, args.name))
        assert made is not None  # only a `once` creation finds one already made
        token, secret = made
        # Scripts take stdout, `$(fabu token create ...)`: the secret alone goes there.
        print(f"token {token.id} for {token.org_id} ({', '.join(token.roles)})", file=sys.stderr)
        print(secret)
    elif args.action == "list":
        rows = on_database(url, lambda db: _token_list(db, args.org))
        if rows:
            sys.stdout.write(token_table(rows))
        else:
            print("no tokens", file=sys.stderr)
    else:
        token = on_database(url, lambda db: _token_revoke(db, args.id))
        print(f"token {token.id} for {token.org_id} revoked", file=sys.stderr)


async def _seed_with_demo_token(db: Database) -> tuple[ApiToken, str] | None:
    """The directory seeded, and the demo admin token made unless an earlier run made it."""
    await _seed(db)
    return await _token_create(
        db, "520000", ["admin", "info_office", "viewer"], DEMO_TOKEN_NAME, once=True
    )


def _quickstart(host: str, port: int, url: str) -> None:
    if ensure_secret_key(Path(".env")):
        print("A key sealing webhook secrets at rest was written to ./.env.", flush=True)
    db_upgrade(url)
    made = on_database(url, _seed_with_demo_token)
    if made:
        print(f"\nDemo admin token (shown once, keep it): {made[1]}\n", flush=True)
    else:
        print(
            "\nThe demo admin token was printed on the first run; make another with "
            "`fabu token create --org 520000 --roles admin`.\n",
            flush=True,
        )
    print(f"Dashboard: http://{host}:{port}/dashboard", flush=True)
    serve(host, port)


if __name__ == "__main__":
    sys.exit(main())
