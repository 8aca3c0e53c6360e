"""bench/releases: what the release work flow costs per call, and the approval race.

    .venv/bin/python -m bench.releases              # SQLite, 40 walks
    .venv/bin/python -m bench.releases --pg         # PostgreSQL at 127.0.0.1:5432
    .venv/bin/python -m bench.releases --walks 20 --racers 16

A fresh database (migrated and seeded as an operator would), the app under uvicorn in its
own process, and one client sending one request at a time, so that each figure is the
latency of one call with nothing queued before it:

1. Baseline, same run: intake of a level II mine accident (`POST /incidents`): one write
   transaction that classifies, routes, opens two obligations and their timers, and writes
   its event and audit entry.
2. Measured: the five calls that take that incident's first release from draft to
   publication (draft, submit, review, approve, publish; publication also meets
   `first_release` and opens the next `follow_up`). Printed per call and for the whole walk,
   as median and p95, with the ratio to the intake median.
3. The race: `--racers` approvers of one organ approve one release at the same moment,
   `--races` times; every race must end with exactly one 200 and the rest 409.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench._util import mint_token, prepare_database, scratch_database, serve, table

PANZHOU = "520281"
EMERGENCY = "dept-emergency_management"
STEPS = ("draft", "submit", "review", "approve", "publish")


def _incident(i: int) -> dict[str, Any]:
    occurred = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {
        "category": "accident",
        "subtype": "mining",
        "title": f"盘州市某煤矿透水事故 {i}",
        "occurred_at": occurred,
        "division_codes": [PANZHOU],
        "place": "盘州市某煤矿",
        "figures": {"deaths": 8, "missing": 3, "injuries": 5, "trapped": 8},
    }


def _release(occurred: str) -> dict[str, Any]:
    return {
        "kind": "first",
        "title": "盘州市某煤矿发生透水事故",
        "body": "11月27日9时许，盘州市某煤矿发生透水事故，救援正在进行。" * 4,
        "channels": ["website", "weibo", "wechat"],
        "facts": {
            "time": occurred,
            "place": "盘州市某煤矿",
            "site_conditions": "井下透水，救援队已入井搜救",
            "casualties": {"deaths": 8, "injured": 5, "missing": 3, "involved": 20},
            "measures": "省应急管理厅已派工作组赶赴现场指导救援",
        },
    }


def _ms(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


async def _call(
    client: httpx.AsyncClient, url: str, token: str, body: Any = None, expect: int = 200
) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    if response.status_code != expect:
        raise RuntimeError(f"{url}: {response.status_code} {response.text}")
    result: dict[str, Any] = response.json()
    return elapsed, result


async def _to_approval(
    client: httpx.AsyncClient, tokens: dict[str, str], i: int
) -> tuple[dict[str, float], str]:
    """Incident `i` reported, its first release drafted, submitted and reviewed: the time
    each call took, and the release's id, ready for approval."""
    body = _incident(i)
    took: dict[str, float] = {}
    took["intake"], incident = await _call(
        client, "/incidents", tokens["reporter"], body, expect=201
    )
    took["draft"], release = await _call(
        client,
        f"/incidents/{incident['id']}/releases",
        tokens["drafter"],
        _release(body["occurred_at"]),
        expect=201,
    )
    rid = release["id"]
    took["submit"], _ = await _call(client, f"/releases/{rid}/submit", tokens["drafter"])
    took["review"], _ = await _call(
        client, f"/releases/{rid}/review", tokens["reviewer"], {"passed": True}
    )
    return took, rid


async def _run(base: str, tokens: dict[str, str], walks: int, racers: int, races: int) -> None:
    timings: dict[str, list[float]] = {"intake": [], **{s: [] for s in STEPS}, "walk": []}
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=30) as client:
        # Warm-up: one of everything, not counted.
        for i in range(walks + 1):
            took, rid = await _to_approval(client, tokens, i)
            took["approve"], _ = await _call(client, f"/releases/{rid}/approve", tokens["approver"])
            took["publish"], done = await _call(
                client, f"/releases/{rid}/publish", tokens["drafter"]
            )
            assert done["status"] == "published"
            if i == 0:
                continue
            for name in ("intake", *STEPS):
                timings[name].append(took[name])
            timings["walk"].append(sum(took[step] for step in STEPS))

        outcomes: list[list[int]] = []
        race_times: list[float] = []
        for i in range(races):
            _, rid = await _to_approval(client, tokens, 10_000 + i)
            started = time.perf_counter()
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"/releases/{rid}/approve",
                        headers={"Authorization": f"Bearer {tokens[f'approver{k}']}"},
                    )
                    for k in range(racers)
                )
            )
            race_times.append(time.perf_counter() - started)
            outcomes.append(sorted(r.status_code for r in responses))

    base_median, _ = _ms(timings["intake"])
    rows = [["call", "median ms", "p95 ms", "× intake median"]]
    for name in ("intake", *STEPS, "walk"):
        median, p95 = _ms(timings[name])
        rows.append([name, f"{median:.1f}", f"{p95:.1f}", f"{median / base_median:.2f}"])
    print(table(rows))
    won = sum(1 for o in outcomes if o.count(200) == 1 and o.count(409) == racers - 1)
    median, p95 = _ms(race_times)
    print(
        f"\nrace: {racers} approvers at once, {races} races: exactly one winner in {won}/{races}"
        f" (outcomes of the first: {outcomes[0]}); all settled in median {median:.1f} ms,"
        f" p95 {p95:.1f} ms"
    )
    if won != races:
        raise SystemExit("FAIL: a race did not end with exactly one approval")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--walks", type=int, default=40)
    parser.add_argument("--racers", type=int, default=8)
    parser.add_argument("--races", type=int, default=10)
    args = parser.parse_args()
    with scratch_database(pg=args.pg, name="releases") as url:
        prepare_database(url)
        tokens = {
            "reporter": mint_token(url, PANZHOU, ["reporter"]),
            "drafter": mint_token(url, EMERGENCY, ["drafter"]),
            "reviewer": mint_token(url, EMERGENCY, ["reviewer"]),
            "approver": mint_token(url, EMERGENCY, ["approver"]),
        }
        for k in range(args.racers):
            tokens[f"approver{k}"] = mint_token(url, EMERGENCY, ["approver"])
        env = {"FABU_SCHEDULER_ENABLED": "false", "FABU_DELIVERY_ENABLED": "false"}
        with serve(url, env=env) as server:
            print(
                f"bench/releases on {'PostgreSQL' if args.pg else 'SQLite'}: {args.walks} walks,"
                " one request at a time\n"
            )
            asyncio.run(_run(server.base_url, tokens, args.walks, args.racers, args.races))


if __name__ == "__main__":
    main()
