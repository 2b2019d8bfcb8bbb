"""Part 1 of the server benchmark: API latency while every render slot is busy."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from job_specs import long_spec, tiny_spec
from live_server import AUTH, Server


@dataclass
class Samples:
    submit_ms: list[float] = field(default_factory=list)
    status_ms: list[float] = field(default_factory=list)
    errors: int = 0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def _client_loop(
    session: aiohttp.ClientSession,
    url: str,
    deadline: float,
    samples: Samples,
    n: int,
    think_s: float,
) -> None:
    i = 0
    # Clients start spread over one think period, as real ones would.
    await asyncio.sleep(think_s * n / 100)
    while time.monotonic() < deadline:
        started = time.perf_counter()
        async with session.post(
            f"{url}/api/generate-video-async", json=tiny_spec(n * 1000 + i)
        ) as resp:
            body = await resp.json()
        samples.submit_ms.append((time.perf_counter() - started) * 1000)
        if resp.status != 200:
            samples.errors += 1
            continue
        for _ in range(5):
            await asyncio.sleep(think_s)
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            async with session.get(f"{url}/api/job-status/{body['jobId']}") as resp:
                await resp.read()
            samples.status_ms.append((time.perf_counter() - started) * 1000)
            if resp.status != 200:
                samples.errors += 1
        i += 1


async def _fill_slots(session: aiohttp.ClientSession, url: str, slots: int, photo: Path) -> None:
    """Submit one long render per slot and wait until every slot renders."""
    for _ in range(slots):
        async with session.post(f"{url}/api/generate-video-async", json=long_spec(photo)) as resp:
            assert resp.status == 200, await resp.text()
    while True:
        async with session.get(f"{url}/api/queue-status") as resp:
            queue = await resp.json()
        if queue["activeRenders"] == slots:
            return
        await asyncio.sleep(0.1)


async def latency(clients: int, seconds: float, assets: Path, think_s: float) -> dict[str, Any]:
    slots = os.cpu_count() or 1
    async with Server(slots, assets) as url:
        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(
            headers={"Authorization": AUTH}, connector=connector
        ) as session:
            await _fill_slots(session, url, slots, assets / "hubble.jpg")
            samples = Samples()
            started = time.monotonic()
            deadline = started + seconds
            await asyncio.gather(
                *(_client_loop(session, url, deadline, samples, n, think_s) for n in range(clients))
            )
            elapsed = time.monotonic() - started
            async with session.get(f"{url}/api/queue-status") as resp:
                after = await resp.json()
    return _latency_row(slots, clients, think_s, elapsed, after, samples)


def _latency_row(
    slots: int,
    clients: int,
    think_s: float,
    elapsed: float,
    after: dict[str, Any],
    samples: Samples,
) -> dict[str, Any]:
    requests = len(samples.submit_ms) + len(samples.status_ms)
    return {
        "slots": slots,
        "clients": clients,
        "think_ms": round(think_s * 1000),
        "seconds": round(elapsed, 1),
        "active_renders_at_end": after["activeRenders"],
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "errors": samples.errors,
        "submit_p50_ms": round(percentile(samples.submit_ms, 50), 1),
        "submit_p99_ms": round(percentile(samples.submit_ms, 99), 1),
        "status_p50_ms": round(percentile(samples.status_ms, 50), 1),
        "status_p99_ms": round(percentile(samples.status_ms, 99), 1),
        "submits": len(samples.submit_ms),
        "status_polls": len(samples.status_ms),
    }
