"""The cluster benchmark's fault run: kill -9 of a node while it renders, the time until its
job renders on the other node, then every accepted job accounted for by its webhooks.

A job is lost when it was accepted and never completed; completed twice when its completion
webhook arrived as two different deliveries (a repeat of one delivery, same
`X-Reelfarm-Delivery` id, is at-least-once delivery, not a second completion).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cluster_load import POLL_S, SETTLE_S, job_records, submit_fillers
from cluster_nodes import Node, Side, redis_side
from live_server import AUTH, free_port

DELIVERY_HEADER = "X-Reelfarm-Delivery"
# After the last completion arrived, how long a second one for any job is still waited for.
REPEAT_WATCH_S = 3.0
TERMINAL = ("completed", "failed", "cancelled")


@dataclass
class HookReceiver:
    """A loopback webhook endpoint counting each job's deliveries by event."""

    port: int = field(default_factory=free_port)
    deliveries: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    posts: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = (body["jobId"], body["event"])
        self.posts[key] += 1
        self.deliveries[key].add(request.headers.get(DELIVERY_HEADER, ""))
        return web.Response(status=204)

    def completions(self, job_id: str) -> int:
        return len(self.deliveries.get((job_id, "completed"), ()))

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[HookReceiver]:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            yield self
        finally:
            await runner.cleanup()


async def own_jobs(session: aiohttp.ClientSession, node: Node) -> list[str]:
    """The jobs `node` renders now, as it reports itself in `GET /api/nodes`."""
    async with session.get(f"{node.url}/api/nodes") as resp:
        body = await resp.json()
    [me] = [n for n in body["nodes"] if n["id"] == body["node"]]
    return list(me["jobs"])


async def first_job(session: aiohttp.ClientSession, node: Node, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if jobs := await own_jobs(session, node):
            return jobs[0]
        await asyncio.sleep(POLL_S)
    raise RuntimeError(f"node {node.node_id} rendered nothing within {timeout_s:g} s")


async def wait_terminal(
    session: aiohttp.ClientSession, url: str, ids: list[str], timeout_s: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        records = await job_records(session, url, ids)
        if all(r.get("status") in TERMINAL for r in records) or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.5)


async def wait_completions(receiver: HookReceiver, ids: list[str], timeout_s: float) -> None:
    """Until every job's completion webhook came (or `timeout_s`), then REPEAT_WATCH_S more
    for any second completion still on its way."""
    deadline = time.monotonic() + timeout_s
    while any(receiver.completions(i) == 0 for i in ids):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(POLL_S)
    await asyncio.sleep(REPEAT_WATCH_S)  # the watch for repeats is this long by definition


async def fault_run(
    assets: Path, lease_s: float, jobs: int, appendfsync: str, receiver: HookReceiver
) -> dict[str, Any]:
    """Two nodes of one slot each on a fresh Redis; `jobs` fillers; kill -9 of node-1 while
    it renders; node-2 must take its job over and every job must complete exactly once."""
    async with (
        redis_side(2, 1, assets, lease_s, appendfsync) as side,
        aiohttp.ClientSession(headers={"Authorization": AUTH}) as session,
    ):
        ids = await submit_fillers(session, side.urls, jobs, assets / "hubble.jpg", receiver.url)
        victim, survivor = side.nodes
        job_id = await first_job(session, victim, SETTLE_S)
        killed_at = victim.kill_hard()
        taken_over = await take_over(session, survivor, job_id, killed_at, lease_s)
        records = await wait_terminal(session, survivor.url, ids, lease_s + SETTLE_S)
        await wait_completions(receiver, ids, SETTLE_S)
        return fault_row(side, lease_s, job_id, taken_over, records, receiver)


@dataclass
class TakeOver:
    """Seconds from the kill until the job was back in the queue, and until the other node
    rendered it (inf: not within the deadline)."""

    requeued_s: float = float("inf")
    rendering_s: float = float("inf")


async def take_over(
    session: aiohttp.ClientSession, survivor: Node, job_id: str, killed_at: float, lease_s: float
) -> TakeOver:
    seen = TakeOver()
    deadline = killed_at + lease_s + SETTLE_S
    while time.monotonic() < deadline:
        [record] = await job_records(session, survivor.url, [job_id])
        rendering = job_id in await own_jobs(session, survivor)
        now = time.monotonic() - killed_at
        if record["status"] == "queued" or (rendering and seen.requeued_s == float("inf")):
            # A requeue the poll missed (taken again within one poll) counts as seen now.
            seen.requeued_s = min(seen.requeued_s, now)
        if rendering:
            seen.rendering_s = now
            return seen
        await asyncio.sleep(POLL_S)
    return seen


def fault_row(
    side: Side,
    lease_s: float,
    job_id: str,
    taken_over: TakeOver,
    records: list[dict[str, Any]],
    receiver: HookReceiver,
) -> dict[str, Any]:
    ids = [r["id"] for r in records]
    completed = [r["id"] for r in records if r["status"] == "completed"]
    killed = next(r for r in records if r["id"] == job_id)
    return {
        "side": side.name,
        "lease_s": lease_s,
        "jobs": len(ids),
        "killed_job": job_id,
        "killed_job_attempts": killed["attempts"],
        "requeued_s": round(taken_over.requeued_s, 2),
        "take_over_s": round(taken_over.rendering_s, 2),
        "take_over_target_s": lease_s + 5,
        "completed": len(completed),
        "lost": len(ids) - len(completed),
        "completed_twice": sum(1 for i in ids if receiver.completions(i) > 1),
        "completion_webhooks": sum(receiver.posts[(i, "completed")] for i in ids),
        "no_completion_webhook": sum(1 for i in completed if receiver.completions(i) == 0),
    }
