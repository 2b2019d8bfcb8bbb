"""Console benchmark: the operator console against a loaded farm.

    python bench/console.py                           # 1,000 jobs, 20 pages, 10 s of API load
    python bench/console.py --jobs 300 --pages 5 --seconds 5 --json out.json

A real `reelfarm serve` (bench/live_server.py) as an operator (`[auth] admin_users`). Every
render slot is filled with a long render, then `--jobs` tiny jobs are submitted (they wait in
the queue behind them: that many jobs in the store). Measured:

1. The console's first load, `--loads` times: the page, its static files, the overview and
   the first page of the job list (what a browser fetches before it draws), p50/p99; and the
   job-list call alone. Target: p99 <= 200 ms for each.
2. `--pages` open pages, each one push stream: the server's established connections are
   counted (one per page, no more), and each stream's messages over the run.
3. With those pages open, `--clients` API clients loop "submit, poll its status 5 times"
   (bench/latency.py) for `--seconds`; the job list is timed again meanwhile. Targets as in
   bench/server.py: submit p99 <= 100 ms, job-status p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from job_specs import tiny_spec
from latency import Samples, _client_loop, _fill_slots, percentile
from live_server import ASSETS, AUTH, Server, config_toml

STATIC = ("console.js", "console.css", "dom.js", "api.js", "rows.js", "job.js", "playground.js")
TARGET_MS = 200.0


class OperatorServer(Server):
    """The benchmark's server with its user made an operator, as an operator's page is."""

    async def __aenter__(self) -> str:
        config = config_toml(self.port, self.max_concurrent, self.tmp / "data", self.assets)
        config = config.replace("[auth]\n", '[auth]\nadmin_users = ["bench"]\n', 1)
        (self.tmp / "config.toml").write_text(config)
        self._spawn()
        if await self._ready():
            return self.url
        raise RuntimeError(f"server did not start: {(self.tmp / 'server.log').read_text()}")


async def _timed(session: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with session.get(url) as resp:
        await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{url}: {resp.status}")
    return (time.perf_counter() - started) * 1000


async def first_load(session: aiohttp.ClientSession, url: str) -> float:
    """The page, then what its scripts fetch before drawing, as a browser does (in parallel)."""
    started = time.perf_counter()
    await _timed(session, f"{url}/console")
    await asyncio.gather(
        *(_timed(session, f"{url}/console/static/{name}") for name in STATIC),
        _timed(session, f"{url}/console/data/overview"),
        _timed(session, f"{url}/console/data/jobs?limit=50"),
    )
    return (time.perf_counter() - started) * 1000


async def _seed(session: aiohttp.ClientSession, url: str, jobs: int) -> None:
    async def one(n: int) -> None:
        async with session.post(f"{url}/api/jobs", json={"spec": tiny_spec(n)}) as resp:
            if resp.status != 202:
                raise RuntimeError(f"seed {n}: {resp.status} {await resp.text()}")

    for start in range(0, jobs, 50):
        await asyncio.gather(*(one(n) for n in range(start, min(jobs, start + 50))))


async def _page_stream(url: str, counts: list[int], index: int, opened: asyncio.Event) -> None:
    """One open page's push stream: counts its messages until cancelled."""
    async with (
        aiohttp.ClientSession(headers={"Authorization": AUTH}) as session,
        session.get(f"{url}/console/feed", timeout=aiohttp.ClientTimeout(total=None)) as resp,
    ):
        async for line in resp.content:
            if line.startswith(b"event:"):
                counts[index] += 1
                opened.set()


def _connections(pid: int, port: int) -> int:
    """Established connections to the server's port, held by its process."""
    found = psutil.Process(pid).net_connections(kind="tcp")
    return sum(1 for c in found if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)


async def _timed_list_calls(session: aiohttp.ClientSession, url: str, n: int) -> list[float]:
    return [await _timed(session, f"{url}/console/data/jobs?limit=50") for _ in range(n)]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    slots = os.cpu_count() or 1
    server = OperatorServer(slots, ASSETS)
    async with server as url, aiohttp.ClientSession(headers={"Authorization": AUTH}) as session:
        await _fill_slots(session, url, slots, ASSETS / "hubble.jpg")
        await _seed(session, url, args.jobs)
        loads = [await first_load(session, url) for _ in range(args.loads)]
        lists = await _timed_list_calls(session, url, args.loads)

        assert server.proc is not None
        # The benchmark's own keep-alive connections are there before any page opens.
        before = _connections(server.proc.pid, server.port)
        counts = [0] * args.pages
        opened = [asyncio.Event() for _ in range(args.pages)]
        streams = [
            asyncio.create_task(_page_stream(url, counts, i, opened[i])) for i in range(args.pages)
        ]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 60)
        connections = _connections(server.proc.pid, server.port) - before

        samples = Samples()
        deadline = time.monotonic() + args.seconds
        loaded_lists, *_ = await asyncio.gather(
            _timed_list_calls(session, url, args.loads),
            *(_client_loop(session, url, deadline, samples, n, 0.5) for n in range(args.clients)),
        )
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    return _report(args, slots, loads, lists, loaded_lists, connections, counts, samples)


def _report(
    args: argparse.Namespace,
    slots: int,
    loads: list[float],
    lists: list[float],
    loaded_lists: list[float],
    connections: int,
    counts: list[int],
    samples: Samples,
) -> dict[str, Any]:
    def p(values: list[float], q: float) -> float:
        return round(percentile(values, q), 1)

    return {
        "slots": slots,
        "jobs_in_store": args.jobs + slots,
        "first_load_p50_ms": p(loads, 50),
        "first_load_p99_ms": p(loads, 99),
        "job_list_p50_ms": p(lists, 50),
        "job_list_p99_ms": p(lists, 99),
        "pages": args.pages,
        "push_connections": connections,
        "push_messages_per_page": [min(counts), max(counts)],
        "with_pages_job_list_p99_ms": p(loaded_lists, 99),
        "with_pages_submit_p50_ms": p(samples.submit_ms, 50),
        "with_pages_submit_p99_ms": p(samples.submit_ms, 99),
        "with_pages_status_p50_ms": p(samples.status_ms, 50),
        "with_pages_status_p99_ms": p(samples.status_ms, 99),
        "api_requests": len(samples.submit_ms) + len(samples.status_ms),
        "api_errors": samples.errors,
        "targets": "first load and job list p99 <= 200 ms; submit p99 <= 100 ms, "
        "job-status p99 <= 50 ms; one push connection per page",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--loads", type=int, default=50)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
