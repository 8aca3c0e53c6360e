"""Intake under load: POST /api/v1/incidents beside a no-op POST of the same app.

A fresh database (migrated and seeded through the CLI), one real uvicorn process, and a
load generator in another process keeping `--concurrency` requests in flight. First the
no-op (`POST /api/v1/_noop`, mounted by FABU_BENCH_NOOP=1: the same JSON body parsed, no
auth, no database), then intake for the same time; both in the same server run.

Each intake request is a new level IV mine accident in Panzhou with its own
Idempotency-Key: authenticated, validated, classified, routed, stored with its audit entry
and event in one transaction, and answered with the full incident. Between the two, "intake,
no database" (`POST /api/v1/_noop/incidents`, also mounted by FABU_BENCH_NOOP=1) does all of
that except the database: it shows how much of the target's budget goes before a row is
written. `--major` sends level II
instead, which also opens the two Art. 23 obligations and their timers.

    .venv/bin/python -m bench.intake                 # SQLite, 20 s each
    .venv/bin/python -m bench.intake --pg            # PostgreSQL at 127.0.0.1:5432
    .venv/bin/python -m bench.intake --duration 5

Target on SQLite: intake at least 40% of the no-op's throughput, p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from bench._util import (
    LoadResult,
    LoadSpec,
    mint_token,
    prepare_database,
    run_load,
    scratch_database,
    serve,
    table,
)

PANZHOU = "520281"
TARGET_RATIO = 0.40
TARGET_P99_MS = 50.0


def incident_body(*, major: bool) -> bytes:
    occurred = (datetime.now(UTC) - timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {
            "category": "accident",
            "subtype": "mining",
            "title": "盘州市某煤矿透水事故",
            "occurred_at": occurred,
            "division_codes": [PANZHOU],
            "place": "盘州市某煤矿",
            "figures": {"deaths": 10 if major else 1, "trapped": 4, "injuries": 2},
            "public_opinion": "none",
            "description": "井下透水，4人被困，救援进行中。",
        },
        ensure_ascii=False,
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds not counted")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL at 127.0.0.1:5432")
    parser.add_argument("--major", action="store_true", help="level II incidents")
    args = parser.parse_args()

    backend = "PostgreSQL" if args.pg else "SQLite"
    body = incident_body(major=args.major)
    with scratch_database(pg=args.pg, name="bench_intake") as url:
        prepare_database(url)
        token = mint_token(url, PANZHOU, ["reporter"])
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        noop = LoadSpec("POST", "/api/v1/_noop", headers=headers, body=body)
        no_database = LoadSpec("POST", "/api/v1/_noop/incidents", headers=headers, body=body)
        intake = LoadSpec(
            "POST", "/api/v1/incidents", headers=headers, body=body, unique_header="Idempotency-Key"
        )
        with serve(url, env={"FABU_BENCH_NOOP": "1"}) as server:
            results: dict[str, LoadResult] = {}
            for name, spec in (
                ("no-op POST", noop),
                ("intake, no database", no_database),
                ("POST /incidents", intake),
            ):
                results[name] = run_load(
                    server.port,
                    spec,
                    concurrency=args.concurrency,
                    seconds=args.duration,
                    warmup=args.warmup,
                )

    base = results["no-op POST"]
    rows = [["endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms", "vs no-op"]]
    for name, r in results.items():
        rows.append(
            [
                name,
                str(r.requests),
                str(r.errors),
                f"{r.throughput:.0f}",
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                f"{r.throughput / base.throughput:.0%}",
            ]
        )
    level = "II" if args.major else "IV"
    print(
        f"bench.intake: {backend}, concurrency {args.concurrency}, {args.duration:g} s each "
        f"after {args.warmup:g} s warm-up, level {level} incidents"
    )
    print(table(rows))
    got = results["POST /incidents"]
    ratio = got.throughput / base.throughput
    verdict = "met" if ratio >= TARGET_RATIO and got.p99_ms < TARGET_P99_MS else "missed"
    print(
        f"target (SQLite): ≥ {TARGET_RATIO:.0%} of the no-op and p99 < {TARGET_P99_MS:g} ms: "
        f"{ratio:.0%}, {got.p99_ms:.1f} ms → {verdict}"
        + ("" if not args.pg else " (the target is stated for SQLite; shown for comparison)")
    )
    bad = {k: v for r in results.values() for k, v in r.statuses.items() if not k.startswith("2")}
    if bad:
        print(f"non-2xx answers: {bad}")


if __name__ == "__main__":
    main()
