"""Cluster benchmark: SQLite on one node against Redis with two nodes, on this box.

    python bench/cluster.py             # full run, about 5 minutes; table on stdout
    python bench/cluster.py --quick     # a short smoke run of every part
    python bench/cluster.py --appendfsync always --json out.json

Side A is one `reelfarm serve` on SQLite with `--slots` render slots; side B is two
`reelfarm serve` nodes (node-1, node-2) with half the slots each, on one redis-server (AOF on,
appendfsync `--appendfsync`) and one shared data dir. Otherwise the config is the same
(bench/live_server.py's: Basic auth, admission open). Both sides carry the same render load,
one render per core of the 2-core box.

On each side: every slot rendering photo reels queued ahead of everything else
(bench/cluster_load.py), `--clients` clients spread over the side's nodes each looping
"submit a tiny job, poll its job-status 5 times" every `--think-ms` for `--seconds`; submit and
job-status p50/p99, and the time from a render's end to the next one's start (slot-free →
rendering). Then `--quiet-s` of renders alone: Redis commands per job (`INFO commandstats`).

Fault runs (bench/cluster_fault.py): a fresh Redis and two nodes, kill -9 of the rendering
node, the time until its job renders on the other one against `--lease-s` + 5 s, and every
accepted job counted by its completion webhooks: none lost, none completed twice.

Then both sides once more with renders held back (the memory gate kept shut, so no job is
claimed) and the same clients for `--held-s`: what the API costs with CPU to spare.

Targets: submit p99 <= 100 ms and job-status p99 <= 50 ms on Redis under full render load;
take-over within lease + 5 s; 0 jobs lost and 0 completed twice in every fault run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from cluster_fault import HookReceiver, fault_run
from cluster_load import LoadPlan, run_clients_only, run_load
from cluster_nodes import DEFAULT_APPENDFSYNC, HOLD_RENDERS, Side, redis_side, sqlite_side
from cluster_report import markdown, targets
from live_server import ASSETS, AUTH, CLIENT_NICE

RESULTS = Path(__file__).resolve().parent / "results" / "cluster.json"
QUICK = {
    "clients": 20,
    "seconds": 8.0,
    "quiet_s": 8.0,
    "held_s": 5.0,
    "lease_s": 5.0,
    "fault_runs": 1,
    "fault_jobs": 2,
}


async def load_side(
    side: Side, plan: LoadPlan, assets: Path, receiver: HookReceiver
) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=plan.clients + 10)
    async with aiohttp.ClientSession(
        headers={"Authorization": AUTH}, connector=connector
    ) as session:
        row = await run_load(session, side, plan, assets / "hubble.jpg", receiver.url)
    # The fillers' webhooks: on either side a render must complete once.
    fillers = row.pop("filler_ids")
    row["fillers_completed_twice"] = sum(1 for i in fillers if receiver.completions(i) > 1)
    row["quiet_s"] = plan.quiet_s
    return row


async def held_side(side: Side, plan: LoadPlan) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=plan.clients + 10)
    async with aiohttp.ClientSession(
        headers={"Authorization": AUTH}, connector=connector
    ) as session:
        return await run_clients_only(session, side, plan)


async def held_rows(options: argparse.Namespace, assets: Path) -> dict[str, Any]:
    """Both sides again with renders held back: the clients alone on the box."""
    plan = LoadPlan(options.clients, options.held_s, options.think_ms / 1000, 0.0)
    rows = {}
    async with sqlite_side(options.slots, assets, HOLD_RENDERS) as side:
        rows["sqlite"] = await held_side(side, plan)
    per_node = max(1, options.slots // 2)
    async with redis_side(
        2, per_node, assets, options.lease_s, options.appendfsync, HOLD_RENDERS
    ) as side:
        rows["redis"] = await held_side(side, plan)
    return rows


async def main(options: argparse.Namespace) -> dict[str, Any]:
    assets = Path(options.assets)
    plan = LoadPlan(options.clients, options.seconds, options.think_ms / 1000, options.quiet_s)
    per_node = max(1, options.slots // 2)
    result: dict[str, Any] = {
        "appendfsync": options.appendfsync,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    started = time.monotonic()
    async with HookReceiver().serving() as receiver:
        async with sqlite_side(options.slots, assets) as side:
            result["sqlite"] = await load_side(side, plan, assets, receiver)
        async with redis_side(2, per_node, assets, options.lease_s, options.appendfsync) as side:
            result["redis"] = await load_side(side, plan, assets, receiver)
        result["faults"] = [
            await fault_run(
                assets, options.lease_s, options.fault_jobs, options.appendfsync, receiver
            )
            for _ in range(options.fault_runs)
        ]
    if options.held_s:
        result["held"] = await held_rows(options, assets)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["wall_s"] = round(time.monotonic() - started, 1)
    result["targets"] = targets(result)
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slots", type=int, default=2, help="render slots of each side")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=45.0, help="the measured window")
    parser.add_argument("--think-ms", type=float, default=500, help="a client's pause")
    parser.add_argument("--quiet-s", type=float, default=20.0, help="renders only, after")
    parser.add_argument(
        "--held-s", type=float, default=20.0, help="the clients with renders held; 0: skip"
    )
    parser.add_argument("--lease-s", type=float, default=30.0, help="[pool] lease_s on Redis")
    parser.add_argument("--fault-runs", type=int, default=2)
    parser.add_argument("--fault-jobs", type=int, default=6, help="jobs in each fault run")
    parser.add_argument(
        "--appendfsync", choices=("everysec", "always"), default=DEFAULT_APPENDFSYNC
    )
    parser.add_argument("--assets", type=lambda p: str(Path(p).resolve()), default=str(ASSETS))
    parser.add_argument("--quick", action="store_true", help="a short run of every part")
    parser.add_argument("--json", default=str(RESULTS), help=f"results (default {RESULTS})")
    options = parser.parse_args()
    if options.quick:
        for name, value in QUICK.items():
            setattr(options, name, value)
    return options


if __name__ == "__main__":
    arguments = parse_args()
    os.nice(CLIENT_NICE)
    outcome = asyncio.run(main(arguments))
    Path(arguments.json).parent.mkdir(parents=True, exist_ok=True)
    Path(arguments.json).write_text(json.dumps(outcome, indent=2) + "\n")
    print(json.dumps(outcome, indent=2), file=sys.stderr)
    print(markdown(outcome))
