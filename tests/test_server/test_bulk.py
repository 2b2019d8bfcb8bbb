"""The Node guide's bulk scenario: 20 jobs at max_concurrent = 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.serverkit import slow_spec, tiny_spec
from support.waiting import wait_until

PAYLOAD_KEYS = {
    "event",
    "jobId",
    "status",
    "progress",
    "videoUrl",
    "posterUrl",
    "error",
    "metadata",
    "timestamp",
}


async def _submit_twenty_behind_two_blockers(client: Any, receiver: Any, assets: Path) -> list[str]:
    # Two long renders hold both slots while the 20 are submitted, so every one of them is
    # queued whatever the speed of this machine; cancelling them then frees the slots.
    blockers = [await client.submit(slow_spec(assets)) for _ in range(2)]
    for blocker in blockers:
        await client.wait_status(blocker, ("processing",))
    # Slightly longer than the tiniest render so the queue is visibly busy while we look.
    spec = tiny_spec(duration=3.0)
    spec["fps"] = 24

    submitted = []
    for i in range(20):
        status, body = await client.post(
            "/api/generate-video-async",
            {**spec, "webhookUrl": receiver.url, "metadata": {"n": i}},
        )
        assert status == 200, body
        submitted.append(body)
    # Every one queued behind the two renders, at the next position: the queue is FIFO.
    assert [b["status"] for b in submitted] == ["queued"] * 20
    assert [b["queue"]["position"] for b in submitted] == list(range(1, 21))
    assert all(b["queue"]["activeRenders"] == 2 for b in submitted)
    assert all(b["queue"]["maxConcurrent"] == 2 for b in submitted)
    assert [b["queue"]["queueLength"] for b in submitted] == list(range(1, 21))
    for blocker in blockers:
        await client.request("DELETE", f"/api/jobs/{blocker}")
    return [b["jobId"] for b in submitted]


async def _watch_the_queue_drain(client: Any, ids: list[str]) -> None:
    """Never more than 2 rendering, exactly 2 while work waits, and the queued jobs listed in
    submission order."""
    seen_full = False

    async def drained_in_order() -> bool:
        nonlocal seen_full
        status, queue = await client.get("/api/queue-status")
        assert status == 200
        assert queue["activeRenders"] <= 2, queue
        listed = [j["jobId"] for j in queue["queuedJobs"]]
        assert listed == [i for i in ids if i in set(listed)], "queue is not FIFO"
        if queue["queueLength"] > 0 and queue["activeRenders"] == 2:
            seen_full = True
            status, processing = await client.get("/api/jobs?status=processing")
            assert processing["total"] <= 2
        return queue["queueLength"] == 0 and queue["activeRenders"] == 0

    await wait_until(drained_in_order, 90)
    assert seen_full, "never saw both slots busy with jobs waiting"


async def test_twenty_jobs_two_at_a_time_fifo_with_webhooks(
    start_server, receiver, shared_assets: Path
) -> None:
    server = await start_server({"pool": {"max_concurrent": 2}})
    client = server.client
    ids = await _submit_twenty_behind_two_blockers(client, receiver, shared_assets)
    await _watch_the_queue_drain(client, ids)

    finals = [await client.status(i) for i in ids]
    assert [f["status"] for f in finals] == ["completed"] * 20, finals
    # Jobs started in the order they were submitted (FIFO).
    _, page = await client.get("/api/jobs?limit=50")
    started = {j["id"]: j["started_at"] for j in page["jobs"]}
    assert sorted(ids, key=lambda i: started[i]) == ids

    # Per job: exactly one `started` webhook, then one `completed`, none while queued.
    await wait_until(lambda: len(receiver.accepted()) >= 40, 30)
    for n, job_id in enumerate(ids):
        assert receiver.events_for(job_id) == ["started", "completed"], job_id
        completed = [d for d in receiver.accepted() if d["jobId"] == job_id][-1]
        assert completed["status"] == "completed" and completed["progress"] == 100
        assert completed["videoUrl"].endswith(f"/api/jobs/{job_id}/video")
        assert completed["metadata"] == {"n": n}
        assert set(completed) == PAYLOAD_KEYS
