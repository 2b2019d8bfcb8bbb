"""Scheduling under failure and limits: a killed worker, attempts, render timeouts, queue TTL,
per-key concurrency, admission gates."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
from support.serverkit import BEARER, Client, medium_spec, slow_spec, tiny_spec
from support.waiting import wait_until

from server.app import POOL


def rendering_worker(server) -> psutil.Process:
    """The pool worker that has an FFmpeg child (the one rendering)."""
    for pid in server.app[POOL].worker_pids:
        proc = psutil.Process(pid)
        if any("ffmpeg" in c.name() for c in proc.children(recursive=True)):
            return proc
    raise AssertionError("no worker is rendering")


async def _rendering(client: Client, job_id: str) -> bool:
    body = await client.status(job_id)
    return body["status"] == "processing" and body["progress"] > 0


async def test_a_killed_worker_is_replaced_and_its_job_requeued(
    start_server, shared_assets: Path
) -> None:
    server = await start_server({"pool": {"max_concurrent": 1}})
    client = server.client
    job_id = await client.submit(medium_spec(shared_assets))
    await wait_until(lambda: _rendering(client, job_id), 60)
    worker = rendering_worker(server)
    doomed = [worker, *worker.children(recursive=True)]
    os.kill(worker.pid, signal.SIGKILL)

    done = await client.wait_status(job_id, ("completed", "failed"), 120)
    assert done["status"] == "completed", done
    _, job = await client.get(f"/api/jobs/{job_id}")
    assert job["attempts"] == 2
    assert worker.pid not in server.app[POOL].worker_pids
    # The dead worker's FFmpeg went with it.
    for proc in doomed:
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE


async def test_a_job_that_keeps_losing_its_worker_fails_after_max_attempts(
    start_server, shared_assets: Path
) -> None:
    server = await start_server({"pool": {"max_concurrent": 1, "max_attempts": 1}})
    client = server.client
    job_id = await client.submit(medium_spec(shared_assets))
    await wait_until(lambda: _rendering(client, job_id), 60)
    os.kill(rendering_worker(server).pid, signal.SIGKILL)
    failed = await client.wait_status(job_id, ("failed", "completed"), 60)
    assert failed["status"] == "failed" and "gave up after 1 attempt" in failed["error"]
    _, job = await client.get(f"/api/jobs/{job_id}")
    assert job["error_kind"] == "worker_lost"
    # The replacement worker renders the next job.
    next_id = await client.submit(tiny_spec())
    assert (await client.wait_status(next_id, ("completed",)))["status"] == "completed"


async def test_a_render_past_its_timeout_is_killed_and_failed(
    start_server, shared_assets: Path
) -> None:
    server = await start_server({"pool": {"max_concurrent": 1, "render_timeout_s": 2.0}})
    client = server.client
    job_id = await client.submit(slow_spec(shared_assets))
    failed = await client.wait_status(job_id, ("failed", "completed"), 30)
    assert failed["status"] == "failed" and "longer than 2s" in failed["error"]
    _, job = await client.get(f"/api/jobs/{job_id}")
    assert job["error_kind"] == "timeout"

    async def no_ffmpeg() -> bool:
        pids = server.app[POOL].worker_pids
        return not any(
            "ffmpeg" in c.name()
            for pid in pids
            if psutil.pid_exists(pid)
            for c in psutil.Process(pid).children(recursive=True)
            if c.status() != psutil.STATUS_ZOMBIE
        )

    await wait_until(no_ffmpeg, 10)


async def test_queued_jobs_expire_after_the_queue_ttl(start_server, shared_assets: Path) -> None:
    server = await start_server({"pool": {"max_concurrent": 1}, "admission": {"queue_ttl_s": 1.0}})
    client = server.client
    blocker = await client.submit(slow_spec(shared_assets))
    await client.wait_status(blocker, ("processing",))
    waiting = await client.submit(tiny_spec())
    expired = await client.wait_status(waiting, ("failed",), 15)
    assert "expired" in expired["error"]
    _, job = await client.get(f"/api/jobs/{waiting}")
    assert job["error_kind"] == "expired" and job["started_at"] is None
    await client.request("DELETE", f"/api/jobs/{blocker}")


async def test_per_key_concurrency_limit(start_server, shared_assets: Path) -> None:
    server = await start_server(
        {"pool": {"max_concurrent": 2}, "auth": {"per_key_max_concurrent": 1}}
    )
    user = server.client
    first = await user.submit(slow_spec(shared_assets))
    second = await user.submit(slow_spec(shared_assets))
    await user.wait_status(first, ("processing",))

    async def held() -> dict | None:
        _, queue = await user.get("/api/queue-status")
        return queue if queue["holding"] == "per_key_limit" else None

    queue = await wait_until(held, 10)
    assert queue["activeRenders"] == 1 and (await user.status(second))["status"] == "queued"
    # Another key gets the free slot at once.
    other = Client(server.base_url, auth=BEARER)
    try:
        theirs = await other.submit(tiny_spec())
        assert (await other.wait_status(theirs, ("completed",)))["status"] == "completed"
    finally:
        await other.close()
    assert (await user.status(second))["status"] == "queued"
    await user.request("DELETE", f"/api/jobs/{first}")
    await user.wait_status(second, ("processing",))
    await user.request("DELETE", f"/api/jobs/{second}")


async def test_an_admission_gate_holds_jobs_and_queue_status_says_which(start_server) -> None:
    server = await start_server({"admission": {"min_free_disk_mb": 10**9}})
    client = server.client
    job_id = await client.submit(tiny_spec())

    async def holding() -> dict | None:
        _, queue = await client.get("/api/queue-status")
        return queue if queue["holding"] == "disk" else None

    queue = await wait_until(holding, 10)
    assert queue["queueLength"] == 1 and queue["activeRenders"] == 0
    assert queue["admission"]["free_disk_mb"] < 10**9
    assert queue["admission"]["thresholds"]["min_free_disk_mb"] == 10**9
    assert (await client.status(job_id))["status"] == "queued"
