"""The official `runpod` SDK, unchanged, against a live Reelfarm: run / status / output,
run_sync, cancel (queued and running), health, purge_queue and stream, with real renders.

The SDK is synchronous (`requests`), so its calls run in threads while the server runs in the
test's event loop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import runpod
from support.serverkit import InProcessServer, slow_spec, tiny_spec
from support.waiting import wait_until

OUTPUT_KEYS = {"video_url", "poster_url", "duration_s", "width", "height", "size_bytes", "encoder"}
# The SDK's own request timeouts for /cancel, /health and /purge-queue are 3 s.
FAST_S = 2.0


async def _status(raw_client: Any, job_id: str) -> dict[str, Any]:
    code, body = await raw_client.get(f"/status/{job_id}")
    assert code == 200, body
    return body


async def _wait_rendering(raw_client: Any, job_id: str) -> None:
    async def rendering() -> bool:
        body = await _status(raw_client, job_id)
        return body["status"] == "IN_PROGRESS" and body["output"]["frames_done"] > 0

    await wait_until(rendering, 60)


async def test_run_then_status_and_output_and_a_runpod_webhook(
    start_runpod_server, sdk_endpoint, raw, receiver
) -> None:
    server: InProcessServer = await start_runpod_server()
    endpoint: runpod.Endpoint = sdk_endpoint(server)
    receiver.fail_next = 1  # the first delivery fails: the outbox must retry it

    job = await asyncio.to_thread(endpoint.run, {"input": tiny_spec(), "webhook": receiver.url})
    assert await asyncio.to_thread(job.status) in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")
    output = await asyncio.to_thread(job.output, 60)
    assert await asyncio.to_thread(job.status) == "COMPLETED"

    assert set(output) == OUTPUT_KEYS
    assert (output["width"], output["height"], output["duration_s"]) == (160, 284, 1.0)
    assert output["encoder"] == "libx264" and output["size_bytes"] > 0
    assert output["video_url"] == f"{server.base_url}/api/jobs/{job.job_id}/video"
    # The video is the caller's: fetched with the same key the SDK used.
    code, video, headers = await raw(server).request("GET", output["video_url"], raw=True)
    assert code == 200 and headers["Content-Type"] == "video/mp4" and video[4:8] == b"ftyp"
    assert len(video) == output["size_bytes"]

    delivered = await wait_until(lambda: _accepted(receiver, job.job_id), 30)
    assert len(receiver.deliveries) == 2  # one refused with 500, then delivered
    hook = delivered[0]
    assert set(hook) == {"id", "status", "delayTime", "executionTime", "output", "input", "webhook"}
    assert hook["status"] == "COMPLETED" and hook["output"] == output
    assert hook["webhook"] == receiver.url
    assert hook["input"]["scenes"] == tiny_spec()["scenes"]
    assert hook["executionTime"] > 0 and hook["delayTime"] >= 0


async def _accepted(receiver: Any, job_id: str) -> list[dict[str, Any]]:
    return [d for d in receiver.accepted() if d.get("id") == job_id]


async def test_run_sync_returns_the_output_and_honours_input_webhook_url(
    start_runpod_server, sdk_endpoint, receiver
) -> None:
    server = await start_runpod_server()
    endpoint = sdk_endpoint(server)

    spec = {**tiny_spec(title="Sync"), "webhookUrl": receiver.url}
    output = await asyncio.to_thread(endpoint.run_sync, {"input": spec}, 60)

    assert set(output) == OUTPUT_KEYS and output["width"] == 160
    delivered = await wait_until(lambda: _webhooks(receiver), 30)
    assert delivered[0]["status"] == "COMPLETED" and delivered[0]["output"] == output
    assert delivered[0]["webhook"] == receiver.url
    assert "webhookUrl" not in delivered[0]["input"]  # an envelope field, not part of the spec


async def _webhooks(receiver: Any) -> list[dict[str, Any]]:
    return receiver.accepted()


async def test_cancel_a_running_and_a_queued_job(
    start_runpod_server, sdk_endpoint, raw, shared_assets: Path
) -> None:
    server = await start_runpod_server({"pool": {"max_concurrent": 1}})
    endpoint = sdk_endpoint(server)
    client = raw(server)
    running = await asyncio.to_thread(endpoint.run, {"input": slow_spec(shared_assets)})
    queued = await asyncio.to_thread(endpoint.run, {"input": tiny_spec()})
    await _wait_rendering(client, running.job_id)
    assert (await _status(client, queued.job_id))["status"] == "IN_QUEUE"

    for job in (queued, running):
        started = time.monotonic()
        answer = await asyncio.to_thread(job.cancel)
        assert time.monotonic() - started < FAST_S
        assert answer == {"id": job.job_id, "status": "CANCELLED"}
        assert await asyncio.to_thread(job.status) == "CANCELLED"
        code, body = await client.get(f"/stream/{job.job_id}")
        assert code == 200 and body == {"status": "CANCELLED", "stream": []}

    # The running render really stopped: the only slot takes the next job at once.
    output = await asyncio.to_thread(endpoint.run_sync, {"input": tiny_spec()}, 60)
    assert set(output) == OUTPUT_KEYS
    cancelled = await asyncio.to_thread(running.cancel)  # again: a no-op, says how it ended
    assert cancelled == {"id": running.job_id, "status": "CANCELLED"}


async def test_health_purge_and_fast_answers_while_every_slot_renders(
    start_runpod_server, sdk_endpoint, raw, shared_assets: Path
) -> None:
    server = await start_runpod_server({"pool": {"max_concurrent": 2}})
    endpoint = sdk_endpoint(server)
    client = raw(server)
    renders = [
        await asyncio.to_thread(endpoint.run, {"input": slow_spec(shared_assets)}) for _ in range(2)
    ]
    for job in renders:
        await _wait_rendering(client, job.job_id)

    timings: dict[str, float] = {}

    async def timed(name: str, call: Any, *args: Any) -> Any:
        started = time.monotonic()
        result = await asyncio.to_thread(call, *args)
        timings[name] = max(timings.get(name, 0.0), time.monotonic() - started)
        return result

    waiting = [await timed("run", endpoint.run, {"input": tiny_spec()}) for _ in range(3)]
    # A job of another API in the same queue: this endpoint's purge leaves it alone.
    code, other = await client.post(f"{server.base_url}/api/generate-video-async", tiny_spec())
    assert code == 200, other

    health = await timed("health", endpoint.health)
    assert health == {
        "jobs": {"completed": 0, "failed": 0, "inProgress": 2, "inQueue": 4, "retried": 0},
        "workers": {"idle": 0, "running": 2},
    }
    assert await timed("purge-queue", endpoint.purge_queue) == {"removed": 3, "status": "completed"}
    for job in waiting:
        assert await asyncio.to_thread(job.status) == "CANCELLED"
    for job in renders:
        assert (await _status(client, job.job_id))["status"] == "IN_PROGRESS"
    code, node_job = await client.get(f"{server.base_url}/api/job-status/{other['jobId']}")
    assert node_job["status"] == "queued"

    for job in renders:
        assert (await timed("cancel", job.cancel))["status"] == "CANCELLED"
    assert all(seconds < FAST_S for seconds in timings.values()), timings


async def test_stream_yields_progress_then_the_output_once(
    start_runpod_server, sdk_endpoint, shared_assets: Path
) -> None:
    server = await start_runpod_server()
    endpoint = sdk_endpoint(server)
    # A render of a few seconds, so progress arrives over several polls.
    job = await asyncio.to_thread(endpoint.run, slow_spec(shared_assets, duration=4.0))

    chunks = await asyncio.to_thread(lambda: list(job.stream()))

    *progress, final = chunks
    assert set(final) == OUTPUT_KEYS and final["duration_s"] == 4.0
    assert progress, "no progress chunk before the output"
    assert all(set(p) == {"progress", "frames_done", "frames_total"} for p in progress)
    percents = [p["progress"] for p in progress]
    assert percents == sorted(set(percents)) and percents[0] >= 0 and percents[-1] <= 100
    assert len(progress) > 1 and progress[-1]["frames_total"] == 120


async def test_an_sdk_with_another_endpoint_id_gets_404(start_runpod_server, sdk_endpoint) -> None:
    server = await start_runpod_server()
    endpoint = sdk_endpoint(server, endpoint_id="some-other-endpoint")
    with pytest.raises(requests.HTTPError) as refused:
        await asyncio.to_thread(endpoint.health)
    assert refused.value.response.status_code == 404
