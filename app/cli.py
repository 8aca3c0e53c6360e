"""The `fabu` command: serve, db upgrade/downgrade, seed, token create, secret-key,
quickstart, replay."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from sqlalchemy import select

from app import directory, logging_filters
from app.clock import SystemClock
from app.config import get_settings
from app.db import Database, sync_url

DEMO_TOKEN_NAME = "demo admin (quick start)"


def _alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def db_upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


def db_downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(_alembic_config(url), revision)


async def _seed(url: str) -> int:
    db = Database(url)
    try:
        async with db.write() as session:
            return await directory.seed(session)
    finally:
        await db.dispose()


async def _token_create(
    url: str, org: str, roles: list[str], name: str, *, once: bool = False
) -> str | None:
    from app.models import ApiToken
    from app.workflows import tokens

    db = Database(url)
    try:
        async with db.write() as session:
            if once:
                existing = await session.execute(select(ApiToken.id).where(ApiToken.name == name))
                if existing.first() is not None:
                    return None
            _, secret = await tokens.issue(
                session,
                org_id=directory.resolve_org_argument(org),
                roles=roles,
                name=name,
                clock=SystemClock(),
                actor=None,
            )
            return secret
    finally:
        await db.dispose()


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


def serve(host: str, port: int) -> None:
    import uvicorn

    from app.main import create_app

    settings = get_settings()
    config = uvicorn.Config(
        create_app(settings), host=host, port=port, log_level=settings.log_level
    )
    # uvicorn configures its loggers when the Config is made: the filter goes on after that.
    logging_filters.install()
    uvicorn.Server(config).run()


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="fabu", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the service")
    p_serve.add_argument("--host", default=settings.host)
    p_serve.add_argument("--port", type=int, default=settings.port)
    p_db = sub.add_parser("db", help="migrations")
    p_db.add_argument("action", choices=["upgrade", "downgrade"])
    p_db.add_argument("revision", nargs="?")
    sub.add_parser("seed", help="seed the Guizhou directory (idempotent)")
    p_token = sub.add_parser("token", help="tokens")
    p_token.add_argument("action", choices=["create"])
    p_token.add_argument(
        "--org", required=True, help="organ id, or a division code for its government"
    )
    p_token.add_argument("--roles", required=True, help="comma-separated roles")
    p_token.add_argument("--name", default="created with the CLI")
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
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    url = settings.database_url

    if args.command == "serve":
        serve(args.host, args.port)
    elif args.command == "db":
        if args.action == "upgrade":
            db_upgrade(url, args.revision or "head")
        else:
            db_downgrade(url, args.revision or "base")
    elif args.command == "seed":
        added = asyncio.run(_seed(url))
        print(f"directory seeded ({added} rows added)")
    elif args.command == "token":
        roles = [r.strip() for r in args.roles.split(",") if r.strip()]
        secret = asyncio.run(_token_create(url, args.org, roles, args.name))
        print(secret)
    elif args.command == "secret-key":
        from app.secretbox import generate_key

        print(generate_key())
    elif args.command == "replay":
        from app.errors import Problem
        from app.replay import replay

        async def _replay() -> str:
            db = Database(url)
            try:
                return await replay(
                    db, args.incident, SystemClock(), fmt=args.format, events=args.events
                )
            finally:
                await db.dispose()

        try:
            sys.stdout.write(asyncio.run(_replay()))
        except Problem as problem:
            print(f"fabu replay: {args.incident}: {problem.detail}", file=sys.stderr)
            return 2
    elif args.command == "quickstart":
        if ensure_secret_key(Path(".env")):
            print("A key sealing webhook secrets at rest was written to ./.env.", flush=True)
        db_upgrade(url)
        asyncio.run(_seed(url))
        secret = asyncio.run(
            _token_create(
                url, "520000", ["admin", "info_office", "viewer"], DEMO_TOKEN_NAME, once=True
            )
        )
        if secret:
            print(f"\nDemo admin token (shown once, keep it): {secret}\n", flush=True)
        else:
            print(
                "\nThe demo admin token was printed on the first run; make another with "
                "`fabu token create --org 520000 --roles admin`.\n",
                flush=True,
            )
        print(f"Dashboard: http://{args.host}:{args.port}/dashboard", flush=True)
        serve(args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
