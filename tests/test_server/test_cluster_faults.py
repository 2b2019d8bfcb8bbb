"""Faults of a cluster, end to end: two `reelfarm serve` processes on one real redis-server
(AOF on, fsync always) and one shared data dir.

- `kill -9` of the node that renders: its job is rendered again on the other one within the
  lease plus a few seconds (the attempt counted), every job completes, each video downloads
  from the survivor, and each job sends exactly one completion webhook.
- `kill -9` of redis-server while one job renders and others wait, then a restart on the same
  AOF: every job the API accepted completes.
- A frozen node (SIGSTOP past its lease): the other node takes the job over and completes it;
  woken (SIGCONT), the late node records nothing, and the winner's video stays the one served.

A short `[pool] lease_s` keeps the take-overs quick; one render slot per node keeps the
renders of this small box few. That a late failure is refused (its job queued again, or
claimed by a later attempt) is proved in-process, on SQLite and on Redis.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support.cluster import Cluster, Node
from support.media import probe
from support.redis_server import RedisServer
from support.redis_server import redis_server as redis_server  # the fixture
from support.serverkit import (
    Client,
    WebhookReceiver,
    log_lines,
    medium_spec,
    serving,
    tiny_spec,
)
from support.waiting import wait_until

from server.jobs import ErrorKind
from server.state import SERVICE

LEASE_S = 3.0
# A dead node's job is back in the queue about a sweep (1 s) after its lease ran out; the
# other node, idle, claims it at once. The bound: lease + 5 s.
TAKE_OVER_S = LEASE_S + 5.0
ONE_SLOT = {"pool": {"max_concurrent": 1, "lease_s": LEASE_S}}
# The medium render lasts 45 s of video: what a probe of any completed video must show.
MEDIUM_DURATION_S = 45.0


@pytest.fixture
async def cluster(
    tmp_path: Path, shared_assets: Path, redis_server: RedisServer
) -> AsyncIterator[Cluster]:
    """Nodes on this test's Redis (`cluster.start(node_id)`), all stopped at the end."""
    nodes = Cluster(tmp_path, shared_assets, redis_server.url, ONE_SLOT)
    try:
        yield nodes
    finally:
        await nodes.stop()


async def _two_nodes(cluster: Cluster, extra: dict[str, Any] | None = None) -> list[Node]:
    nodes = [cluster.start("node-a", extra), cluster.start("node-b", extra)]
    await cluster.wait_ready()
    return nodes


async def _mid_render(client: Client, job_id: str) -> None:
    async def progressing() -> bool:
        body = await client.status(job_id)
        return body["status"] == "processing" and body["progress"] > 0

    await wait_until(progressing, 60, what=f"{job_id} mid-render")


async def _job(client: Client, job_id: str) -> dict[str, Any]:
    status, body = await client.get(f"/api/jobs/{job_id}")
    assert status == 200, body
    return body


async def _idle(node: Node) -> bool:
    return await node.rendering() == []


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def _video(client: Client, job_id: str, into: Path) -> bytes:
    """The job's video as this node serves it, checked to be a whole MP4 with a video stream."""
    status, body, _ = await client.request("GET", f"/api/jobs/{job_id}/video", raw=True)
    assert status == 200, body[:200]
    path = into / f"{job_id}.mp4"
    path.write_bytes(body)
    info = probe(path)
    assert info.video_codec == "h264" and info.width > 0
    return body


async def _one_completion_each(receiver: WebhookReceiver, job_ids: list[str]) -> None:
    def all_sent() -> bool:
        return all("completed" in receiver.events_for(j) for j in job_ids)

    await wait_until(all_sent, 30, what="a completion webhook for every job")
    for job_id in job_ids:
        events = receiver.events_for(job_id)
        assert events.count("completed") == 1 and "failed" not in events, (job_id, events)


# ---- a node dies -----------------------------------------------------------------------------
async def test_kill_9_of_the_rendering_node_and_every_job_completes_on_the_other(
    cluster: Cluster, shared_assets: Path, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    a, b = await _two_nodes(cluster)
    hook = {"webhookUrl": receiver.url}
    running = await a.client.submit(medium_spec(shared_assets), **hook)
    victim = await cluster.holder(running, [a, b])
    survivor = b if victim is a else a
    # Submitted through the node about to die: accepted is accepted, whichever node took it.
    others = [await victim.client.submit(tiny_spec(f"n{i}"), **hook) for i in range(3)]
    await _mid_render(survivor.client, running)

    killed_at = time.time()
    victim.kill_hard()

    async def taken_over() -> dict[str, Any] | None:
        job = await _job(survivor.client, running)
        return job if job["attempts"] == 2 and job["status"] != "queued" else None

    again = await wait_until(taken_over, TAKE_OVER_S + 5, what="the take-over")
    assert _timestamp(again["started_at"]) - killed_at <= TAKE_OVER_S
    assert log_lines(survivor.logs(), rf"Starting job {running}\b.*attempt 2")

    for job_id in [running, *others]:
        done = await survivor.client.wait_status(job_id, ("completed", "failed"), 90)
        assert done["status"] == "completed", done
        await _video(survivor.client, job_id, tmp_path)
    assert (await _job(survivor.client, running))["attempts"] == 2  # the lost attempt counted
    assert probe(tmp_path / f"{running}.mp4").duration_s == pytest.approx(MEDIUM_DURATION_S, 0.05)
    await _one_completion_each(receiver, [running, *others])
    # The dead node's half-written attempt was removed when the survivor's was published.
    job_dir = cluster.data_dir / "jobs" / running
    assert sorted(p.name for p in job_dir.iterdir()) == ["poster.jpg", "video.mp4"]


# ---- the store dies --------------------------------------------------------------------------
async def test_kill_9_of_redis_mid_render_loses_no_accepted_job(
    cluster: Cluster, shared_assets: Path, redis_server: RedisServer, receiver: WebhookReceiver
) -> None:
    # One render at a time for the one client key, so the rest wait in the queue.
    a, b = await _two_nodes(cluster, {"auth": {"per_key_max_concurrent": 1}})
    hook = {"webhookUrl": receiver.url}
    accepted = [await a.client.submit(medium_spec(shared_assets), **hook)]
    accepted += [await n.client.submit(tiny_spec(f"q{i}"), **hook) for i, n in enumerate([a, b])]
    await _mid_render(b.client, accepted[0])
    assert [(await b.client.status(j))["status"] for j in accepted[1:]] == ["queued"] * 2

    redis_server.kill()
    refused = 0
    for node in (a, b):  # while it is away: refused (503), never accepted and then lost
        status, body, headers = await node.client.request(
            "POST", "/api/generate-video-async", json={**tiny_spec(), **hook}
        )
        if 200 <= status < 300:
            accepted.append(body["jobId"])
        else:
            assert status == 503 and "Retry-After" in headers, (status, body)
            refused += 1
    redis_server.start()
    accepted.append(await b.client.submit(tiny_spec("after"), **hook))

    for job_id in accepted:
        done = await a.client.wait_status(job_id, ("completed", "failed"), 90)
        assert done["status"] == "completed", done
    assert refused == 2
    await _one_completion_each(receiver, accepted)


# ---- a node freezes --------------------------------------------------------------------------
async def test_a_frozen_node_loses_its_job_and_its_late_result_is_refused(
    cluster: Cluster, shared_assets: Path, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    a, b = await _two_nodes(cluster)
    job_id = await a.client.submit(medium_spec(shared_assets), webhookUrl=receiver.url)
    frozen = await cluster.holder(job_id, [a, b])
    winner = b if frozen is a else a
    await _mid_render(winner.client, job_id)

    frozen.freeze()
    frozen_at = time.monotonic()
    await cluster.holder(job_id, [winner], timeout_s=TAKE_OVER_S + 5)
    assert time.monotonic() - frozen_at <= TAKE_OVER_S
    done = await winner.client.wait_status(job_id, ("completed", "failed"), 90)
    assert done["status"] == "completed", done
    record = await _job(winner.client, job_id)
    video = await _video(winner.client, job_id, tmp_path)

    frozen.thaw()
    # Woken, it finds the job is no longer its own (at its next beat, or when its render
    # ends): it stops or drops its render and records nothing.
    lost = rf"{job_id}\b.*no longer"
    await wait_until(lambda: log_lines(frozen.logs(), lost), 60, what="the late node's line")
    await wait_until(lambda: _idle(frozen), 30, what="the late node idle")

    assert await _job(frozen.client, job_id) == record  # the winner's record, unchanged
    assert record["attempts"] == 2
    assert await _video(frozen.client, job_id, tmp_path) == video
    await _one_completion_each(receiver, [job_id])
    job_dir = cluster.data_dir / "jobs" / job_id
    assert sorted(p.name for p in job_dir.iterdir()) == ["poster.jpg", "video.mp4"]


# ---- a late failure --------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_a_late_failure_never_ends_a_job_that_went_back_to_the_queue(
    tmp_path: Path, shared_assets: Path, redis_server: RedisServer, backend: str
) -> None:
    """A render that fails after its lease ran out (its job requeued, or claimed again) must
    not fail the job: the store keeps the queued job, and then the next attempt's."""
    storage = {"backend": backend, "redis_url": redis_server.url}
    # The node never claims on its own (its disk gate asks for more than any box has).
    holds_all = {"storage": storage, "admission": {"min_free_disk_mb": 2**40}}
    async with serving(tmp_path, shared_assets, holds_all) as start:
        node = await start()
        service = node.app[SERVICE]
        job_id = await node.client.submit(tiny_spec())
        first = await service.claim_next(lease_s=LEASE_S)
        assert first is not None and first.id == job_id
        # Its lease ran out: a sweeper put it back in the queue (as the sweeper does, in the
        # name of the lease's owner).
        assert await service.requeue(
            first, "the render was interrupted", lease_owner=first.lease_owner
        )
        assert await service.fail(first, ErrorKind.RENDER, "late failure") is None
        assert (await node.client.status(job_id))["status"] == "queued"

        second = await service.claim_next(lease_s=LEASE_S)
        assert second is not None and second.attempts == first.attempts + 1
        assert await service.fail(first, ErrorKind.RENDER, "late failure") is None
        assert (await node.client.status(job_id))["status"] == "processing"
        assert await service.fail(second, ErrorKind.RENDER, "its own failure") is not None
        assert (await node.client.status(job_id))["status"] == "failed"
