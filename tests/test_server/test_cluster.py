"""Several nodes on one Redis: `serve` refusing an unsafe Redis and waiting for an absent one,
the node registry (`/api/nodes`) and the cluster-wide figures, a cancel through the node that
is not rendering, the per-key limit across nodes, and Redis going away under a render.

Nodes here are in-process servers on one real redis-server (this test's own, AOF on) and one
shared data dir, as boxes share one filesystem; the multi-process fault runs (kill -9, SIGSTOP)
are in their own module. `/api/nodes` on SQLite is here too: the one node it lists.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support.redis_server import RedisServer, start_redis
from support.redis_server import redis_server as redis_server  # the fixture
from support.serverkit import (
    BEARER,
    ROOT,
    Client,
    InProcessServer,
    ServeProcess,
    StartServer,
    base_overrides,
    free_port,
    medium_spec,
    merge,
    serving,
    slow_spec,
    tiny_spec,
    write_config,
)
from support.waiting import wait_until, wait_until_blocking

from server.app import STORE_AWAY
from server.config import redacted_url
from server.state import POOL, SCHEDULER, SERVICE

# A node that never claims: its disk gate asks for more free space than any box has.
HOLDS_ALL = {"admission": {"min_free_disk_mb": 2**40}}


@pytest.fixture
async def start_node(
    tmp_path: Path, shared_assets: Path, redis_server: RedisServer
) -> AsyncIterator[StartServer]:
    """`await start_node(extra)`: an in-process node on this test's Redis and the shared data
    dir; every node is stopped at the end."""
    on_redis = {"storage": {"backend": "redis", "redis_url": redis_server.url}}
    async with serving(tmp_path, shared_assets, on_redis) as start:
        yield start


@pytest.fixture
def events() -> Iterator[list[logging.LogRecord]]:
    """Every `reelfarm` log record of the test, whatever handlers a config put there."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("reelfarm")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def _event_count(records: list[logging.LogRecord], event: str) -> int:
    return sum(1 for r in records if getattr(r, "event", None) == event)


def _node_id(server: InProcessServer) -> str:
    return server.app[SERVICE].node_id


def _serve(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _redis_config(tmp_path: Path, url: str, port: int | None = None) -> Path:
    sections = base_overrides(tmp_path / "data", port or free_port())
    sections = merge(sections, {"storage": {"backend": "redis", "redis_url": url}})
    return write_config(tmp_path / "config.toml", sections)


# ---- serve on Redis --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("--appendonly", "no", "--save", ""),
            "storage.redis_url: Redis has appendonly no; set appendonly yes",
        ),
        (
            ("--appendonly", "yes", "--save", "", "--maxmemory-policy", "allkeys-lru"),
            "storage.redis_url: Redis has maxmemory-policy allkeys-lru",
        ),
    ],
)
def test_serve_refuses_a_redis_that_would_lose_accepted_jobs(
    tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    redis = start_redis(tmp_path / "redis", args=args)
    try:
        result = _serve(_redis_config(tmp_path, redis.url))
    finally:
        redis.stop()
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"reelfarm serve: {line}"), lines


async def test_serve_waits_for_redis_and_starts_once_it_answers(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis", free_port())  # not started yet
    port = free_port()
    proc = ServeProcess(_redis_config(tmp_path, redis.url, port), tmp_path / "server.log")
    proc.start()
    client = Client(f"http://127.0.0.1:{port}")
    try:
        wait_until_blocking(
            lambda: f"Waiting for the job store at {redis.url}" in proc.logs(), 30, "a wait line"
        )
        redis.start()

        async def ready() -> bool:
            try:
                return (await client.get("/readyz"))[0] == 200
            except OSError:
                return False

        await wait_until(ready, 60, what="readyz after Redis came up")
        job_id = await client.submit(tiny_spec())
        assert (await client.wait_status(job_id, ("completed",)))["status"] == "completed"
    finally:
        await client.close()
        proc.stop()
        redis.stop()


def test_a_redis_password_is_masked_wherever_the_url_is_shown() -> None:
    assert redacted_url("redis://:s3cret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert redacted_url("rediss://app:s3cret@r/1?prefix=a:") == "rediss://app:***@r/1?prefix=a:"
    assert redacted_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


# ---- the registry and the cluster-wide figures -----------------------------------------------
async def test_every_node_lists_every_node_and_counts_the_whole_cluster(
    start_node: StartServer, shared_assets: Path
) -> None:
    rendering = await start_node({"pool": {"max_concurrent": 1}})
    other = await start_node({"pool": {"max_concurrent": 2}, **HOLDS_ALL})
    job_id = await other.client.submit(slow_spec(shared_assets))
    await other.client.wait_status(job_id, ("processing",))

    ids = sorted([_node_id(rendering), _node_id(other)])

    async def registered(server: InProcessServer) -> dict[str, Any] | None:
        # Each node's entry is as of its last beat (every 2 s); its own is always current.
        status, body = await server.client.get("/api/nodes")
        assert status == 200
        return body if body["busy"] == 1 else None

    for server in (rendering, other):
        body = await wait_until(lambda: registered(server), 10)  # noqa: B023 - awaited here
        assert body["node"] == _node_id(server)
        assert [n["id"] for n in body["nodes"]] == ids
        assert (body["slots"], body["busy"]) == (3, 1)
        by_id = {n["id"]: n for n in body["nodes"]}
        assert by_id[_node_id(rendering)]["jobs"] == [job_id]  # the submitter sees its job
        assert by_id[_node_id(rendering)]["encoder"] == "libx264"
        assert by_id[_node_id(other)]["busy"] == 0 and by_id[_node_id(other)]["slots"] == 2
    # Another principal sees the node busy, not the id of a job that is not its own.
    stranger = Client(other.base_url, auth=BEARER)
    try:
        _, seen = await stranger.get("/api/nodes")
    finally:
        await stranger.close()
    assert {n["id"]: n["jobs"] for n in seen["nodes"]} == {i: [] for i in ids}

    _, queue = await other.client.get("/api/queue-status")
    assert (queue["activeRenders"], queue["maxConcurrent"], queue["availableSlots"]) == (1, 3, 2)
    assert (await other.client.status(job_id))["queue"]["maxConcurrent"] == 3
    _, health = await other.client.get("/v2/reelfarm/health")
    assert health["workers"] == {"idle": 2, "running": 1}
    assert health["jobs"]["inProgress"] == 1

    # A node that stops cleanly leaves the registry at once, not a TTL later.
    await rendering.stop()
    _, body = await other.client.get("/api/nodes")
    assert [n["id"] for n in body["nodes"]] == [_node_id(other)]


async def test_on_sqlite_the_registry_is_this_node(start_server: StartServer) -> None:
    server = await start_server()
    status, body = await server.client.get("/api/nodes")
    assert status == 200 and body["node"] == _node_id(server)
    [node] = body["nodes"]
    assert (node["id"], node["slots"], node["busy"], node["jobs"]) == (_node_id(server), 2, 0, [])
    assert node["encoder"] == "libx264" and node["version"]
    job_id = await server.client.submit(tiny_spec())
    await server.client.wait_status(job_id, ("completed",))
    # The attempt rendered in a directory of its own; only the outputs are left in place.
    job_dir = server.config.storage.data_dir / "jobs" / job_id
    assert sorted(p.name for p in job_dir.iterdir()) == ["poster.jpg", "video.mp4"]


# ---- actions across nodes --------------------------------------------------------------------
async def test_a_cancel_through_the_other_node_stops_the_render_within_2s(
    start_node: StartServer, shared_assets: Path
) -> None:
    rendering = await start_node({"pool": {"max_concurrent": 1}})
    other = await start_node(HOLDS_ALL)
    running = await other.client.submit(slow_spec(shared_assets))
    waiting = await other.client.submit(tiny_spec())

    async def progressing() -> bool:  # the other node reads the progress from Redis
        body = await other.client.status(running)
        return body["status"] == "processing" and body["progress"] > 0

    await wait_until(progressing, 60)
    cancelled_at = time.time()
    status, out, _ = await other.client.request("DELETE", f"/api/jobs/{running}")
    assert status == 200 and out["status"] == "cancelled"
    done = await rendering.client.wait_status(waiting, ("completed",))
    assert done["status"] == "completed"
    _, next_job = await rendering.client.get(f"/api/jobs/{waiting}")
    started = datetime.fromisoformat(next_job["started_at"].replace("Z", "+00:00")).timestamp()
    # The rendering node heard of the cancel, stopped the render and took the next job.
    assert started - cancelled_at < 2.0
    assert rendering.app[SCHEDULER].rendering() == ()


async def test_a_per_key_limit_of_one_holds_across_nodes(
    start_node: StartServer, shared_assets: Path
) -> None:
    one_each = {"pool": {"max_concurrent": 1}, "auth": {"per_key_max_concurrent": 1}}
    first = await start_node(one_each)
    second = await start_node(one_each)
    slow = await first.client.submit(slow_spec(shared_assets))
    await first.client.wait_status(slow, ("processing",))
    held = await second.client.submit(tiny_spec("held"))
    stranger = Client(second.base_url, auth=BEARER)
    try:
        # Another key's job, queued behind the held one, renders on the node with a free slot.
        other_key = await stranger.submit(tiny_spec("other key"))
        await stranger.wait_status(other_key, ("completed",))
    finally:
        await stranger.close()
    assert (await second.client.status(held))["status"] == "queued"
    await first.client.request("DELETE", f"/api/jobs/{slow}")
    assert (await second.client.wait_status(held, ("completed",)))["status"] == "completed"


# ---- Redis away ------------------------------------------------------------------------------
async def test_redis_away_answers_503_and_the_render_in_flight_completes_once_it_is_back(
    start_node: StartServer,
    shared_assets: Path,
    redis_server: RedisServer,
    events: list[logging.LogRecord],
) -> None:
    node = await start_node({"pool": {"max_concurrent": 1}})
    client = node.client
    job_id = await client.submit(medium_spec(shared_assets))
    await client.wait_status(job_id, ("processing",))
    redis_server.stop()

    status, body, headers = await client.request("GET", f"/api/job-status/{job_id}")
    assert status == 503 and body["error"] == STORE_AWAY and int(headers["Retry-After"]) > 0
    status, body, headers = await client.request(
        "POST", "/api/generate-video-async", json=tiny_spec()
    )
    assert status == 503 and body["error"] == STORE_AWAY and "Retry-After" in headers
    _, body = await client.get("/readyz")
    assert body == {"ready": False, "reason": "the job store is unavailable"}
    assert (await client.get("/healthz"))[0] == 200  # the process itself is alive

    # The render runs on to its end meanwhile; its result waits for the store.
    pool = node.app[POOL]
    await wait_until(lambda: pool.busy == 0, 60, what="the render to finish")  # type: ignore[attr-defined]
    redis_server.start()
    done = await client.wait_status(job_id, ("completed",), timeout_s=30)
    assert done["status"] == "completed" and done["videoUrl"]
    status, video, _ = await client.request("GET", f"/api/jobs/{job_id}/video", raw=True)
    assert status == 200 and video[4:8] == b"ftyp"
    await node.wait_ready(10)
    # One line when the outage began, one when it ended, however many loops noticed it.
    assert _event_count(events, "store.unavailable") == 1
    assert _event_count(events, "store.available") == 1


async def test_a_submission_stored_before_redis_went_away_is_answered_as_accepted(
    start_node: StartServer, redis_server: RedisServer
) -> None:
    node = await start_node(HOLDS_ALL)
    store = node.app[SERVICE].store
    # Redis goes away between the job's write and the read of the queue's figures for the
    # answer: the job is stored, so the client is told so (a 503 would make it submit again).
    original_add = store.add

    async def add_then_lose_redis(job: Any, **kw: Any) -> Any:
        stored = await original_add(job, **kw)
        redis_server.stop()
        return stored

    store.add = add_then_lose_redis  # type: ignore[method-assign]
    status, body, _ = await node.client.request(
        "POST", "/api/generate-video-async", json=tiny_spec()
    )
    assert status == 200 and body["success"] is True and body["status"] == "queued", body
    store.add = original_add  # type: ignore[method-assign]
    redis_server.start()
    await node.wait_ready(15)
    assert (await node.client.status(body["jobId"]))["status"] == "queued"
