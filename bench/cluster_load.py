"""The cluster benchmark's load run on one side: every slot rendering, 100 clients submitting
and polling job-status over all of the side's nodes, then a quiet stretch with renders only.

Renders come from "fillers": photo reels of a few seconds' render each, queued at a higher
priority than the clients' tiny jobs, more of them than the slots can finish, so a slot that
frees takes the next filler at once and no slot is ever idle. The clients are the server
benchmark's (bench/latency.py): each loops "submit a tiny job, poll its status 5 times".
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from bulk import slot_handoffs_ms
from cluster_nodes import Side, command_counts, count_delta, cpu_snapshot
from latency import Samples, _client_loop, percentile

# Above the clients' tiny jobs (priority 0): the queue always serves a filler first.
FILLER_PRIORITY = 1
# Seconds of a filler reel: about 3 s of render on one core of the 2-core development box.
FILLER_SECONDS = 20
# A slot that frees is taken again within this (the handoffs are tens of ms; this only
# bounds the wait for the first renders and for the window's fillers to end).
SETTLE_S = 120.0
POLL_S = 0.1


def filler_spec(photo: Path) -> dict[str, Any]:
    scene = {"type": "image", "src": str(photo), "duration": FILLER_SECONDS, "motion": "zoom-in"}
    return {
        "theme": "default",
        "width": 360,
        "height": 640,
        "fps": 30,
        "scenes": [scene],
        "output": {"quality": "draft"},
    }


def timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def submit_fillers(
    session: aiohttp.ClientSession, urls: list[str], count: int, photo: Path, hook_url: str
) -> list[str]:
    """`count` fillers, each with a completion webhook, sent to the nodes in turn."""
    envelope = {"priority": FILLER_PRIORITY, "webhookUrl": hook_url}
    ids = []
    for n in range(count):
        url = urls[n % len(urls)]
        body = {**filler_spec(photo), **envelope}
        async with session.post(f"{url}/api/generate-video-async", json=body) as resp:
            answer = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"filler refused: {resp.status} {answer}")
        ids.append(answer["jobId"])
    return ids


async def active_renders(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(f"{url}/api/queue-status") as resp:
        return int((await resp.json())["activeRenders"])


async def wait_rendering(session: aiohttp.ClientSession, url: str, slots: int) -> None:
    deadline = time.monotonic() + SETTLE_S
    while await active_renders(session, url) < slots:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the side's {slots} slots did not all start rendering")
        await asyncio.sleep(POLL_S)


async def job_records(
    session: aiohttp.ClientSession, url: str, ids: list[str]
) -> list[dict[str, Any]]:
    records = []
    for job_id in ids:
        async with session.get(f"{url}/api/jobs/{job_id}") as resp:
            records.append(await resp.json())
    return records


@dataclass(frozen=True)
class LoadPlan:
    clients: int
    seconds: float  # the measured window, every slot rendering and the clients running
    think_s: float
    quiet_s: float  # then renders only, for Redis commands per job


@dataclass
class SlotWatch:
    """The fewest renders in flight seen over the window, sampled once a second from a job's
    status (it carries the cluster's count, and costs what the clients' polls cost; a
    queue-status lists the queue, which here is hundreds of jobs long)."""

    job_id: str
    fewest: int = 1 << 30
    samples: list[int] = field(default_factory=list)

    async def run(self, session: aiohttp.ClientSession, url: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            async with session.get(f"{url}/api/job-status/{self.job_id}") as resp:
                active = int((await resp.json())["queue"]["activeRenders"])
            self.samples.append(active)
            self.fewest = min(self.fewest, active)
            await asyncio.sleep(1.0)


async def load_window(
    session: aiohttp.ClientSession, side: Side, plan: LoadPlan, watched: str | None
) -> tuple[Samples, SlotWatch, float]:
    """`plan.clients` clients spread over the side's nodes for `plan.seconds`: samples, the
    slots watched through job `watched` (none without one), the seconds it took."""
    samples, watch = Samples(), SlotWatch(watched or "")
    clients, seconds, think_s = plan.clients, plan.seconds, plan.think_s
    started = time.monotonic()
    deadline = started + seconds
    urls = side.urls
    loops = [
        _client_loop(session, urls[n % len(urls)], deadline, samples, n, think_s)
        for n in range(clients)
    ]
    if watched:
        loops.append(watch.run(session, urls[0], deadline))
    await asyncio.gather(*loops)
    return samples, watch, time.monotonic() - started


async def quiet_stretch(side: Side, seconds: float) -> tuple[dict[str, int], float, float]:
    """Renders only, no clients, for `seconds`: Redis commands counted meanwhile (none on
    SQLite), and the wall-clock span it covered."""
    redis_url = side.redis.url if side.redis else None
    before = await command_counts(redis_url) if redis_url else {}
    began = time.time()
    await asyncio.sleep(seconds)  # the stretch is the measurement: fillers render through it
    ended = time.time()
    after = await command_counts(redis_url) if redis_url else {}
    return count_delta(before, after), began, ended


def finished_between(records: list[dict[str, Any]], began: float, ended: float) -> int:
    return sum(
        1
        for r in records
        if r["status"] == "completed" and began <= timestamp(r["finished_at"]) < ended
    )


def started_before(records: list[dict[str, Any]], moment: float) -> list[dict[str, Any]]:
    return [r for r in records if r["started_at"] and timestamp(r["started_at"]) < moment]


def fillers_needed(slots: int, seconds: float) -> int:
    """Enough fillers that none of the slots runs dry: a render takes 2-5 s here; a filler
    never started costs only its queue entry."""
    return slots * (int(seconds / 1.5) + 4)


async def run_load(
    session: aiohttp.ClientSession, side: Side, plan: LoadPlan, photo: Path, hook_url: str
) -> dict[str, Any]:
    """The whole load run on `side`: its row for the table."""
    needed = fillers_needed(side.slots, plan.seconds + plan.quiet_s)
    ids = await submit_fillers(session, side.urls, needed, photo, hook_url)
    await wait_rendering(session, side.urls[0], side.slots)
    redis_url = side.redis.url if side.redis else None
    before = await command_counts(redis_url) if redis_url else {}
    cpu_before = cpu_snapshot(side)
    began = time.time()
    samples, watch, elapsed = await load_window(session, side, plan, ids[0])
    ended = time.time()
    cpu = {k: v - cpu_before[k] for k, v in cpu_snapshot(side).items()}
    window_commands = count_delta(before, await command_counts(redis_url) if redis_url else {})
    quiet_commands, quiet_began, quiet_ended = await quiet_stretch(side, plan.quiet_s)
    # Read back through the last node: on Redis any node answers for every job.
    records = await job_records(session, side.urls[-1], ids)
    row = latency_columns(side, plan, samples, elapsed)
    row["fewest_rendering"] = watch.fewest
    row["all_slots_rendering"] = f"{watch.samples.count(side.slots)}/{len(watch.samples)}"
    row.update(cpu_columns(cpu, elapsed, row["requests"]))
    row.update(handoff_columns(records, side.slots, ended))
    rendered = finished_between(records, began, ended)
    row["renders_in_window"] = rendered
    row.update(command_columns("window", window_commands, rendered, row["requests"]))
    quiet_rendered = finished_between(records, quiet_began, quiet_ended)
    row["renders_in_quiet"] = quiet_rendered
    row.update(command_columns("quiet", quiet_commands, quiet_rendered, 0))
    row["filler_ids"] = [r["id"] for r in records if r["status"] == "completed"]
    return row


async def run_clients_only(
    session: aiohttp.ClientSession, side: Side, plan: LoadPlan
) -> dict[str, Any]:
    """The same clients on a side whose renders are held back (cluster_nodes.HOLD_RENDERS):
    what the API costs on a box with CPU to spare."""
    cpu_before = cpu_snapshot(side)
    samples, _, elapsed = await load_window(session, side, plan, None)
    cpu = {k: v - cpu_before[k] for k, v in cpu_snapshot(side).items()}
    row = latency_columns(side, plan, samples, elapsed)
    row.update(cpu_columns(cpu, elapsed, row["requests"]))
    return row


def latency_columns(side: Side, plan: LoadPlan, samples: Samples, elapsed: float) -> dict[str, Any]:
    requests = len(samples.submit_ms) + len(samples.status_ms)
    return {
        "side": side.name,
        "nodes": len(side.nodes),
        "slots": side.slots,
        "clients": plan.clients,
        "think_ms": round(plan.think_s * 1000),
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "errors": samples.errors,
        "submits": len(samples.submit_ms),
        "status_polls": len(samples.status_ms),
        "submit_p50_ms": round(percentile(samples.submit_ms, 50), 1),
        "submit_p99_ms": round(percentile(samples.submit_ms, 99), 1),
        "status_p50_ms": round(percentile(samples.status_ms, 50), 1),
        "status_p99_ms": round(percentile(samples.status_ms, 99), 1),
    }


def handoff_columns(records: list[dict[str, Any]], slots: int, ended: float) -> dict[str, Any]:
    """Slot-free -> rendering over the fillers started before the window ended (all of them
    finished in the quiet stretch after it)."""
    started = started_before(records, ended)
    done = [r for r in started if r["status"] == "completed"]
    handoffs = slot_handoffs_ms(done, slots)
    return {
        "handoffs": len(handoffs),
        "handoff_p50_ms": round(percentile(handoffs, 50), 1),
        "handoff_max_ms": round(max(handoffs, default=float("nan")), 1),
        "unfinished_fillers": len(started) - len(done),
    }


def command_columns(phase: str, counts: dict[str, int], jobs: int, requests: int) -> dict[str, Any]:
    if not counts:
        return {}
    total = sum(counts.values())
    busiest = sorted(counts.items(), key=lambda kv: -kv[1])
    out: dict[str, Any] = {
        f"{phase}_commands": total,
        f"{phase}_commands_per_job": round(total / jobs, 1) if jobs else None,
        f"{phase}_commands_by_name": dict(busiest),
    }
    if requests:
        out[f"{phase}_commands_per_request"] = round(total / requests, 2)
    return out


def cpu_columns(cpu: dict[str, float], elapsed: float, requests: int) -> dict[str, Any]:
    """Where the box's CPU went in the window, in cores busy, and the store side's CPU per
    API request (server processes and redis-server together)."""
    out: dict[str, Any] = {f"cpu_{name}_cores": round(s / elapsed, 2) for name, s in cpu.items()}
    serving = cpu["servers"] + cpu["redis"]
    out["serving_cpu_ms_per_request"] = round(serving * 1000 / requests, 2) if requests else None
    return out
