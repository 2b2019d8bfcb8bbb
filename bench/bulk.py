"""Part 2 of the server benchmark: bulk throughput for one `pool.max_concurrent` setting."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from job_specs import reel_spec
from latency import percentile
from live_server import AUTH, Server


def _timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def _drained(session: aiohttp.ClientSession, url: str) -> None:
    # One light poll every 100 ms: the benchmark must not steal the renders' CPU.
    while True:
        async with session.get(f"{url}/api/queue-status") as resp:
            queue = await resp.json()
        if queue["queueLength"] == 0 and queue["activeRenders"] == 0:
            return
        await asyncio.sleep(0.1)


async def bulk(max_concurrent: int | str, jobs: int, assets: Path) -> dict[str, Any]:
    """`jobs` small reels submitted at once to a fresh server; wall time from the first
    submit to the last completion."""
    async with (
        Server(max_concurrent, assets) as url,
        aiohttp.ClientSession(headers={"Authorization": AUTH}) as session,
    ):
        async with session.get(f"{url}/api/queue-status") as resp:
            slots = (await resp.json())["maxConcurrent"]
        submitted_at = time.time()
        ids = []
        for n in range(jobs):
            async with session.post(
                f"{url}/api/generate-video-async", json=reel_spec(assets / "rocket.jpg", n)
            ) as resp:
                ids.append((await resp.json())["jobId"])
        await _drained(session, url)
        async with session.get(f"{url}/api/jobs?limit={jobs}") as resp:
            listed = (await resp.json())["jobs"]
        # The wall time ends at the last job's own finish, not at the poll that noticed it.
        wall = max(_timestamp(j["finished_at"]) for j in listed) - submitted_at
    failed = [j["id"] for j in listed if j["status"] != "completed"]
    if failed:
        raise RuntimeError(f"jobs did not complete: {failed}")
    handoffs = slot_handoffs_ms(listed, slots)
    return {
        "max_concurrent": max_concurrent,
        "slots": slots,
        "jobs": jobs,
        "wall_s": round(wall, 2),
        "jobs_per_min": round(jobs / wall * 60, 1),
        "handoff_p50_ms": round(percentile(handoffs, 50), 1),
        "handoff_max_ms": round(max(handoffs, default=float("nan")), 1),
    }


def slot_handoffs_ms(jobs: list[dict[str, Any]], slots: int) -> list[float]:
    """How long a freed slot stayed empty while jobs waited: the k-th start (k > slots) was
    waiting for the (k - slots)-th finish."""
    starts = sorted(_timestamp(j["started_at"]) for j in jobs)
    finishes = sorted(_timestamp(j["finished_at"]) for j in jobs)
    return [max(0.0, (starts[k] - finishes[k - slots]) * 1000) for k in range(slots, len(starts))]
