"""The Redis job store's cost: Redis commands and round trips per job lifecycle, and the
latency of add / claim / save.

    python bench/redis_store.py                 # starts its own redis-server (AOF, fsync always)
    python bench/redis_store.py --jobs 500 --url redis://127.0.0.1:6380/0

A lifecycle is what the job service does for one job with a webhook: add, claim, the
`started` delivery, `--beats` heartbeats, save `completed` with its delivery, then each
delivery claimed and done. Commands are counted by Redis (`INFO commandstats`, the commands
inside the scripts included); round trips are the store calls, one each.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

# This folder holds a `server.py`: the repository root goes first so `server` is the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.jobs import Job, JobState, WebhookEvent, new_job_id
from server.store.base import ProgressUpdate, WebhookDelivery
from server.store.redis_store import RedisJobStore

NODE = "bench-node"


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = shutil.which("redis-server") or sys.exit("redis-server is not installed")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    args += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            pass
        time.sleep(0.05)  # the poll interval of a start-up deadline
    process.kill()
    sys.exit("redis-server did not start")


def hook(job_id: str, event: WebhookEvent) -> WebhookDelivery:
    return WebhookDelivery(job_id, "http://127.0.0.1:9/hook", event, b'{"event":"x"}')


class Timed:
    """Store calls, each one round trip, with their latency per operation."""

    def __init__(self) -> None:
        self.calls = 0
        self.ms: dict[str, list[float]] = {}

    async def __call__(self, name: str, call: Callable[[], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        result = await call()
        self.ms.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        self.calls += 1
        return result


async def lifecycle(store: RedisJobStore, timed: Timed, beats: int) -> None:
    job = Job(id=new_job_id(), spec={"scenes": []}, queued_at=time.time(), webhook_url="http://x")
    await timed("add", lambda: store.add(job, max_queued=10_000))
    running = await timed("claim", lambda: store.claim(NODE, lease_s=30))
    await timed("outbox_add", lambda: store.outbox_add([hook(job.id, WebhookEvent.STARTED)]))
    progress = {job.id: ProgressUpdate(50.0, 5, 10)}
    for _ in range(beats):
        await timed("heartbeat", lambda: store.heartbeat(NODE, progress, lease_s=30))
    done = running.evolve(state=JobState.COMPLETED, finished_at=time.time())
    deliveries = [hook(job.id, WebhookEvent.COMPLETED)]
    await timed(
        "save",
        lambda: store.save(
            done, expect=[JobState.PROCESSING], expect_lease_owner=NODE, outbox=deliveries
        ),
    )
    for _ in range(2):  # `completed` is handed out only once `started` is done
        (delivery,) = await timed(
            "outbox_claim", lambda: store.outbox_claim(NODE, limit=10, lease_s=30)
        )
        await timed("outbox_done", lambda d=delivery: store.outbox_done(d.id or 0))


async def commands(store: RedisJobStore) -> dict[str, int]:
    stats = await store.redis.info("commandstats")
    found = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
    return {k: n for k, n in found.items() if k not in ("info", "config|resetstat")}


async def run(url: str, jobs: int, beats: int) -> None:
    store = RedisJobStore(url, prefix="bench:")
    await store.open()
    try:
        await lifecycle(store, Timed(), beats)  # loads every script (NOSCRIPT once each)
        await store.redis.config_resetstat()
        timed = Timed()
        for _ in range(jobs):
            await lifecycle(store, timed, beats)
        counted = await commands(store)
    finally:
        await store.close()
    total = sum(counted.values())
    print(f"{jobs} lifecycles, {beats} heartbeats each")
    print(f"Redis commands per job: {total / jobs:.1f}; round trips: {timed.calls / jobs:.1f}")
    busiest = sorted(counted.items(), key=lambda kv: -kv[1])
    print("per job: " + ", ".join(f"{k} {n / jobs:g}" for k, n in busiest))
    print("| call | p50 ms | p99 ms |\n| --- | --- | --- |")
    for name, ms in timed.ms.items():
        q = statistics.quantiles(ms, n=100)
        print(f"| {name} | {statistics.median(ms):.2f} | {q[98]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--beats", type=int, default=3)
    parser.add_argument("--url", help="an existing Redis (default: start one, AOF always)")
    options = parser.parse_args()
    if options.url:
        asyncio.run(run(options.url, options.jobs, options.beats))
        return
    with tempfile.TemporaryDirectory() as directory:
        process, url = start_redis(Path(directory))
        try:
            asyncio.run(run(url, options.jobs, options.beats))
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
