"""The native API: listing and paging, cancel (queued and running), retry, media with Range,
themes, schema, OpenAPI, probes."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from openapi_spec_validator import validate
from support.serverkit import slow_spec, tiny_spec
from support.waiting import wait_until


async def test_submit_list_filter_and_page(start_server) -> None:
    client = (await start_server()).client
    status, created = await client.post(
        "/api/jobs", {"spec": tiny_spec(), "priority": 4, "metadata": {"a": 1}}
    )
    assert status == 202 and created["priority"] == 4 and created["metadata"] == {"a": 1}
    ids = [created["id"]] + [await client.submit(tiny_spec()) for _ in range(4)]
    for job_id in ids:
        await client.wait_status(job_id, ("completed",))
    status, page = await client.get("/api/jobs?limit=2&offset=1")
    assert status == 200 and page["total"] == 5 and page["limit"] == 2
    assert [j["id"] for j in page["jobs"]] == list(reversed(ids))[1:3]  # newest first
    _, completed = await client.get("/api/jobs?status=completed")
    assert completed["total"] == 5
    job = completed["jobs"][0]
    assert job["result"]["width"] == 160 and job["result"]["height"] == 284
    assert job["result"]["frames"] == 10 and job["error"] is None
    _, none = await client.get("/api/jobs?status=queued")
    assert none == {"jobs": [], "total": 0, "limit": 50, "offset": 0}
    status, out = await client.post("/api/jobs", {"spec": tiny_spec(), "colour": "red"})
    assert status == 400 and out["errors"][0]["field"] == "colour"


async def test_cancel_a_queued_job(start_server, shared_assets: Path, receiver) -> None:
    client = (await start_server({"pool": {"max_concurrent": 1}})).client
    blocker = await client.submit(slow_spec(shared_assets))
    await client.wait_status(blocker, ("processing",))
    queued = await client.submit(tiny_spec(), webhookUrl=receiver.url)
    status, out, _ = await client.request("DELETE", f"/api/jobs/{queued}")
    assert status == 200 and out["status"] == "cancelled"
    assert out["error_kind"] == "cancelled"
    _, queue = await client.get("/api/queue-status")
    assert queue["queueLength"] == 0
    await wait_until(lambda: _now(receiver.events_for(queued) == ["cancelled"]), 10)
    # Cancelling again is harmless; a completed job cannot be cancelled.
    status, _, _ = await client.request("DELETE", f"/api/jobs/{queued}")
    assert status == 200
    await client.request("DELETE", f"/api/jobs/{blocker}")


async def test_cancel_a_running_job_stops_it_and_frees_its_slot(
    start_server, shared_assets: Path
) -> None:
    server = await start_server({"pool": {"max_concurrent": 1}})
    client = server.client
    running = await client.submit(slow_spec(shared_assets))
    waiting = await client.submit(tiny_spec())

    async def rendering() -> bool:
        body = await client.status(running)
        return body["status"] == "processing" and body["progress"] > 0

    await wait_until(rendering, 60)
    from server.state import POOL

    pool = server.app[POOL]
    worker_pids = set(pool.worker_pids)  # type: ignore[attr-defined]
    cancelled_at = time.time()
    status, out, _ = await client.request("DELETE", f"/api/jobs/{running}")
    assert status == 200 and out["status"] == "cancelled"

    # The slot frees: the waiting job starts, within 2 s of the cancel.
    async def next_started() -> bool:
        body = await client.status(waiting)
        return body["status"] in ("processing", "completed")

    await wait_until(next_started, 10, interval_s=0.02)
    done = await client.wait_status(waiting, ("completed",))
    assert done["status"] == "completed"
    # The freed slot took the next job within the 2 s a cancel may take (server's own clock).
    _, next_job = await client.get(f"/api/jobs/{waiting}")
    started = datetime.fromisoformat(next_job["started_at"].replace("Z", "+00:00")).timestamp()
    assert started - cancelled_at < 2.0
    assert (await client.status(running))["status"] == "cancelled"
    # Nothing renders now, so no FFmpeg may be left under any worker, old or new.
    import psutil

    async def no_ffmpeg() -> bool:
        pids = worker_pids | set(pool.worker_pids)  # type: ignore[attr-defined]
        for pid in pids:
            try:
                children = psutil.Process(pid).children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            if any("ffmpeg" in c.name() and c.status() != psutil.STATUS_ZOMBIE for c in children):
                return False
        return True

    await wait_until(no_ffmpeg, 5)


async def test_retry_a_failed_job(start_server, shared_assets: Path) -> None:
    client = (await start_server()).client
    # A file inside the allowed dirs that is no image: accepted at submit, fails to render.
    spec = {
        **tiny_spec(),
        "scenes": [{"type": "image", "src": str(shared_assets / "README.md"), "duration": 1}],
    }
    job_id = await client.submit(spec)
    failed = await client.wait_status(job_id, ("failed", "completed"))
    assert failed["status"] == "failed" and failed["error"], failed
    _, job = await client.get(f"/api/jobs/{job_id}")
    assert job["error_kind"] in ("render", "asset") and job["attempts"] == 1

    status, again = await client.post(f"/api/jobs/{job_id}/retry")
    assert status == 202 and again["attempts"] == 0 and again["error"] is None
    assert again["status"] in ("queued", "processing", "failed")
    failed_again = await client.wait_status(job_id, ("failed",))
    assert failed_again["status"] == "failed"


async def test_retry_of_a_completed_job_is_409(start_server) -> None:
    client = (await start_server()).client
    job_id = await client.submit(tiny_spec())
    await client.wait_status(job_id, ("completed",))
    status, out = await client.post(f"/api/jobs/{job_id}/retry")
    assert status == 409 and "only failed or cancelled" in out["error"]
    status, out, _ = await client.request("DELETE", f"/api/jobs/{job_id}")
    assert status == 409


async def test_video_supports_range_requests(start_server) -> None:
    client = (await start_server()).client
    job_id = await client.submit(tiny_spec())
    await client.wait_status(job_id, ("completed",))
    path = f"/api/jobs/{job_id}/video"
    status, whole, headers = await client.request("GET", path, raw=True)
    assert status == 200 and int(headers["Content-Length"]) == len(whole)
    status, part, headers = await client.request(
        "GET", path, raw=True, headers={"Range": "bytes=10-19"}
    )
    assert status == 206 and part == whole[10:20]
    assert headers["Content-Range"] == f"bytes 10-19/{len(whole)}"
    status, out = await client.get(f"/api/jobs/{job_id}/nothing")
    assert status == 404 and out["success"] is False


async def test_themes_schema_openapi_and_probes(start_server) -> None:
    client = (await start_server(ready=False)).client
    status, themes = await client.get("/api/themes")
    names = [t["name"] for t in themes["themes"]]
    assert status == 200 and "default" in names and "winter" in names
    status, schema = await client.get("/api/schema")
    assert status == 200 and schema["title"] == "Reelfarm render spec"
    status, doc = await client.get("/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.1")
    validate(doc)  # raises on an invalid document
    for path in (
        "/api/generate-video-async",
        "/api/job-status/{jobId}",
        "/api/queue-status",
        "/api/reels/",
        "/api/reels/{id}/",
        "/api/jobs",
        "/api/jobs/{id}",
        "/api/jobs/{id}/retry",
        "/api/jobs/{id}/video",
        "/api/jobs/{id}/poster",
        "/healthz",
        "/readyz",
    ):
        assert path in doc["paths"], path
    status, health = await client.get("/healthz")
    assert status == 200 and health == {"status": "ok"}


async def test_readyz_is_true_once_the_pool_is_up(start_server) -> None:
    server = await start_server()
    status, body = await server.client.get("/readyz")
    assert status == 200 and body == {"ready": True, "slots": 2}


async def test_readyz_is_false_while_the_pool_cannot_start(start_server) -> None:
    server = await start_server({"encoder": {"ffmpeg": "/nonexistent/ffmpeg"}}, ready=False)
    job_id = await server.client.submit(tiny_spec())

    async def failed_start() -> dict | None:
        status, body = await server.client.get("/readyz")
        assert status == 503 and body["ready"] is False
        return body if "failed to start" in body["reason"] else None

    body = await wait_until(failed_start, 60)
    assert "ffmpeg" in body["reason"]
    # Accepted work waits, durable, for a pool that works.
    assert (await server.client.status(job_id))["status"] == "queued"
    status, health = await server.client.get("/healthz")
    assert status == 200 and health == {"status": "ok"}


async def _now(value: bool) -> bool:
    return value


async def test_finished_jobs_and_their_files_are_swept_after_retention(start_server) -> None:
    server = await start_server({"storage": {"retention_h": 2 / 3600}})  # two seconds
    client = server.client
    job_id = await client.submit(tiny_spec())
    await client.wait_status(job_id, ("completed",))
    output_dir = server.config.storage.data_dir / "jobs" / job_id
    assert (output_dir / "video.mp4").is_file()

    async def swept() -> bool:
        status, _ = await client.get(f"/api/jobs/{job_id}")
        return status == 404

    await wait_until(swept, 15, interval_s=0.2)
    assert not output_dir.exists()


async def test_bad_captions_are_refused_at_submit_with_the_field_named_and_no_job(
    start_server,
) -> None:
    client = (await start_server(ready=False)).client
    cases = {
        "captions.words[0].end": {"words": [{"text": "a", "start": 0.5, "end": 0.2}]},
        "captions.srt": {"srt": "1\n00:00:00,100 --> 00:00:xx,000\nhi\n"},
        "captions.style": {"words": [{"text": "a", "start": 0, "end": 0.1}], "style": "wavy"},
        "captions.src": {"src": "http://127.0.0.1/subs.vtt"},
    }
    for field, captions in cases.items():
        status, out = await client.post(
            "/api/jobs", {"spec": {**tiny_spec(), "captions": captions}}
        )
        assert status == 400, (field, out)
        assert field in [e["field"] for e in out["errors"]], (field, out)
    _, jobs = await client.get("/api/jobs")
    assert jobs["total"] == 0
