"""bench/warnings_feed: the public Atom feed of early warnings after years of history.

Seeds a temporary SQLite database with `--history` expired warnings (an Alert and an
Update each, every message with its published early_warning release) and `--live`
warnings in force, then builds the feed (`app.workflows.warnings.atom_feed`):
- as served: only the chains still in play are read (`prune=True`);
- baseline, in the same run: every published message is read and the chains are
  worked out in Python (`prune=False`).
Both must give the same document. Prints the time per feed (median of `--rounds`) and
the ratio. Alerting hubs poll the feed every minute or so; it should stay in the
milliseconds however long the record.

    .venv/bin/python -m bench.warnings_feed [--history 10000] [--live 50] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from app import directory
from app.db import Database, sync_url
from app.models import Base
from app.models.releases import Release
from app.models.warnings import EarlyWarning
from app.workflows.warnings import atom_feed

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
ORG = "dept-natural_resources"
PUBLIC_URL = "https://fabu.example.gov.cn"
CHUNK = 5_000


def _release(rid: str, at: datetime) -> dict[str, Any]:
    return {
        "id": rid,
        "org_id": ORG,
        "kind": "early_warning",
        "title": "地质灾害预警",
        "body": "正文",
        "channels": ["website"],
        "status": "published",
        "division_codes": ["520000"],
        "flow": [],
        "co_signer_ids": [],
        "author_tokens": [],
        "differences": [],
        "created_at": at,
        "updated_at": at,
        "published_at": at,
        "url": f"{PUBLIC_URL}/releases/{rid}",
    }


def _warning(
    wid: str, chain: str, msg_type: str, rid: str, at: datetime, expires: datetime, n: int
) -> dict[str, Any]:
    return {
        "id": wid,
        "chain_id": chain,
        "references_id": None if msg_type == "Alert" else chain,
        "msg_type": msg_type,
        "org_id": ORG,
        "division_code": "520000",
        "colour": "orange",
        "event": "地质灾害",
        "category": "Geo",
        "urgency": "Expected",
        "certainty": "Likely",
        "response_types": [],
        "headline": "贵州省自然资源厅发布地质灾害橙色预警",
        "description": "强降雨引发地质灾害风险高。",
        "instruction": "远离陡坡。",
        "areas": [{"code": "520281", "name_zh": "盘州市", "name_en": "Panzhou City"}],
        "onset": at,
        "expires": expires,
        "identifier": f"52000000000000_{n:014d}_0",
        "sender": f"{ORG}@fabu.example.gov.cn",
        "release_id": rid,
        "created_at": at,
    }


async def seed_directory(url: str) -> None:
    db = Database(url)
    try:
        async with db.write() as session:
            await directory.seed(session)
    finally:
        await db.dispose()


def seed(url: str, history: int, live: int) -> None:
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
    asyncio.run(seed_directory(url))
    with engine.begin() as conn:
        releases: list[dict[str, Any]] = []
        warnings: list[dict[str, Any]] = []
        n = 0

        def flush() -> None:
            if releases:
                conn.execute(Release.__table__.insert(), releases)
                conn.execute(EarlyWarning.__table__.insert(), warnings)
                releases.clear()
                warnings.clear()

        for i in range(history + live):
            in_force = i >= history
            sent = NOW - (timedelta(hours=1 + i % 5) if in_force else timedelta(days=1 + i // 10))
            expires = NOW + timedelta(days=1) if in_force else sent + timedelta(hours=12)
            chain = f"wrn_c{i:08d}"
            for k, msg_type in enumerate(("Alert", "Update")):
                n += 1
                rid = f"rel_w{i:08d}{k}"
                at = sent + timedelta(minutes=10 * k)
                releases.append(_release(rid, at))
                wid = chain if k == 0 else f"wrn_u{i:08d}"
                warnings.append(_warning(wid, chain, msg_type, rid, at, expires, n))
            if len(releases) >= CHUNK:
                flush()
        flush()
    engine.dispose()


async def measure(url: str, rounds: int, live: int) -> tuple[float, float]:
    db = Database(url)
    try:
        timings: dict[bool, list[float]] = {True: [], False: []}
        documents: dict[bool, bytes] = {}
        for i in range(rounds):
            # The baseline reads everything; three rounds of it say enough.
            for prune in (True, False) if i < 3 else (True,):
                async with db.read() as session:
                    started = time.perf_counter()
                    documents[prune] = await atom_feed(
                        session, now=NOW, public_url=PUBLIC_URL, prune=prune
                    )
                    timings[prune].append(time.perf_counter() - started)
        assert documents[True] == documents[False], "pruned and full feeds differ"
        assert documents[True].count(b"<entry>") == live
        return statistics.median(timings[True]), statistics.median(timings[False])
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--live", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    root = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    tmp = Path(tempfile.mkdtemp(prefix="fabu-bench-feed-", dir=root))
    url = f"sqlite+aiosqlite:///{tmp / 'feed.db'}"
    try:
        started = time.perf_counter()
        seed(url, args.history, args.live)
        seeded = time.perf_counter() - started
        pruned, full = asyncio.run(measure(url, args.rounds, args.live))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    messages = 2 * (args.history + args.live)
    print(f"warnings feed: {args.history} expired + {args.live} live warnings, {messages} messages")
    print(f"  seeded in {seeded:.1f} s")
    print(f"  feed, chains in play only : {pruned * 1000:8.2f} ms (median of {args.rounds})")
    print(f"  baseline, every message   : {full * 1000:8.2f} ms")
    print(f"  baseline / served         : {full / pruned:8.1f}x")


if __name__ == "__main__":
    main()
