"""The Runpod endpoint over raw HTTP: failures and retry, execution timeout and TTL, runsync's
wait, stream chunks, auth (Bearer and the bare key), unknown endpoints and jobs, refusals
naming Runpod's fields, and the request rate limit."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from support.serverkit import API_KEY, BASIC, Client, slow_spec, tiny_spec
from support.waiting import wait_until

STATUS_KEYS = {"id", "status", "delayTime", "executionTime"}


async def _until_status(client: Client, job_id: str, *statuses: str, timeout_s: float = 60) -> Any:
    async def reached() -> dict[str, Any] | None:
        code, body = await client.get(f"/status/{job_id}")
        assert code == 200, body
        return body if body["status"] in statuses else None

    return await wait_until(reached, timeout_s)


async def _gone(client: Client, job_id: str) -> bool:
    code, _ = await client.get(f"/status/{job_id}")
    return code == 404


async def test_failed_render_has_an_error_string_and_retry_renders_the_same_id(
    start_runpod_server, raw, tmp_path: Path, shared_assets: Path
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    photo = media / "photo.jpg"
    photo.write_bytes(b"this is not a JPEG")
    server = await start_runpod_server(
        {"assets": {"allowed_dirs": [str(shared_assets), str(media)]}}
    )
    client = raw(server)
    spec = {
        **tiny_spec(),
        "scenes": [{"type": "image", "src": str(photo), "duration": 1.0}],
    }

    code, queued = await client.post("/run", {"input": spec})
    assert code == 200 and queued["status"] == "IN_QUEUE" and set(queued) == {"id", "status"}
    job_id = queued["id"]
    failed = await _until_status(client, job_id, "FAILED", "COMPLETED")
    assert set(failed) == STATUS_KEYS | {"error"}, failed
    assert failed["status"] == "FAILED"
    assert isinstance(failed["error"], str) and failed["error"]
    code, streamed = await client.get(f"/stream/{job_id}")
    assert streamed == {"status": "FAILED", "stream": [], "error": failed["error"]}

    shutil.copyfile(shared_assets / "cat.jpg", photo)  # the cause is fixed; try again
    code, again = await client.post(f"/retry/{job_id}")
    assert code == 200 and again == {"id": job_id, "status": "IN_QUEUE"}
    done = await _until_status(client, job_id, "COMPLETED", "FAILED")
    assert done["status"] == "COMPLETED" and done["output"]["width"] == 160
    assert "error" not in done

    code, refused = await client.post(f"/retry/{job_id}")
    assert code == 409 and "FAILED or TIMED_OUT" in refused["error"]


async def test_execution_timeout_and_ttl(start_runpod_server, raw, shared_assets: Path) -> None:
    server = await start_runpod_server({"pool": {"max_concurrent": 3}})
    client = raw(server)
    submitted = time.monotonic()
    jobs = {}
    for name, spec, policy in (
        ("timed", slow_spec(shared_assets), {"executionTimeout": 5_000}),
        ("outlived", slow_spec(shared_assets), {"ttl": 10_000}),
        ("short-lived", tiny_spec(), {"ttl": 10_000, "lowPriority": True}),
    ):
        code, body = await client.post("/run", {"input": spec, "policy": policy})
        assert code == 200, body
        jobs[name] = body["id"]

    timed = await _until_status(client, jobs["timed"], "TIMED_OUT", "COMPLETED", "FAILED")
    assert timed["status"] == "TIMED_OUT" and "5s" in timed["error"]
    assert 4_500 <= timed["executionTime"] < 15_000, timed

    # The tiny job is there to read while its ttl lasts...
    done = await _until_status(client, jobs["short-lived"], "COMPLETED")
    assert time.monotonic() - submitted < 10 and done["output"]["width"] == 160
    # ...and gone with it, as is the render still running when its own ttl ran out.
    await wait_until(lambda: _gone(client, jobs["short-lived"]), 15, interval_s=0.2)
    await wait_until(lambda: _gone(client, jobs["outlived"]), 15, interval_s=0.2)
    assert time.monotonic() - submitted >= 10
    for action in ("stream", "cancel", "retry"):
        method = client.get if action == "stream" else client.post
        code, _ = await method(f"/{action}/{jobs['outlived']}")
        assert code == 404, action

    async def slots_free() -> bool:
        _, health = await client.get("/health")
        return health["workers"] == {"idle": 3, "running": 0} and health["jobs"]["inProgress"] == 0

    await wait_until(slots_free, 10)

    code, again = await client.post(f"/retry/{jobs['timed']}")
    assert code == 200 and again == {"id": jobs["timed"], "status": "IN_QUEUE"}
    code, cancelled = await client.post(f"/cancel/{jobs['timed']}")
    assert cancelled == {"id": jobs["timed"], "status": "CANCELLED"}


async def test_runsync_wait_then_status_progress_and_stream_chunks_once(
    start_runpod_server, raw, shared_assets: Path
) -> None:
    server = await start_runpod_server({"pool": {"max_concurrent": 1}})
    client = raw(server)

    code, quick = await client.post("/runsync", {"input": tiny_spec()})
    assert code == 200 and set(quick) == STATUS_KEYS | {"output"}
    assert quick["status"] == "COMPLETED" and quick["output"]["duration_s"] == 1.0

    # The only slot is busy: the wait runs out with the job still queued.
    code, blocker = await client.post("/run", {"input": slow_spec(shared_assets)})
    started = time.monotonic()
    code, pending = await client.post("/runsync?wait=1000", {"input": slow_spec(shared_assets, 4)})
    assert code == 200 and 1 <= time.monotonic() - started < 3
    assert set(pending) == STATUS_KEYS and pending["status"] == "IN_QUEUE", pending
    job_id = pending["id"]
    code, _ = await client.post(f"/cancel/{blocker['id']}")

    async def rendering() -> dict[str, Any] | None:
        body = await _until_status(client, job_id, "IN_PROGRESS")
        return body if body["output"]["frames_done"] > 0 else None

    progress = (await wait_until(rendering, 60))["output"]
    assert set(progress) == {"progress", "frames_done", "frames_total"}
    assert progress["frames_total"] == 120 and 0 < progress["progress"] <= 100

    calls: list[list[dict[str, Any]]] = []

    async def streamed_to_the_end() -> bool:
        code, body = await client.get(f"/stream/{job_id}")
        assert code == 200 and set(body) == {"status", "stream"}
        calls.append(body["stream"])
        return body["status"] == "COMPLETED" and not body["stream"]

    await wait_until(streamed_to_the_end, 60, interval_s=0.3)
    chunks = [chunk["output"] for call in calls for chunk in call]
    *progress, final = chunks
    assert final["duration_s"] == 4.0 and final["video_url"].endswith(f"/{job_id}/video")
    assert sum("video_url" in chunk for chunk in chunks) == 1
    percents = [p["progress"] for p in progress]
    assert len(percents) > 1 and percents == sorted(set(percents)), percents
    assert sum(1 for call in calls if call) > 1  # spread over calls, none repeated

    code, refused = await client.post("/runsync?wait=10", {"input": tiny_spec()})
    assert code == 400 and refused["errors"][0]["field"] == "wait"


async def test_auth_by_bearer_or_bare_key_and_404s(start_runpod_server, raw) -> None:
    server = await start_runpod_server()
    bare = raw(server, auth=API_KEY)

    code, body = await bare.post("/run", {"input": tiny_spec()})
    assert code == 200, body
    job_id = body["id"]
    await _until_status(bare, job_id, "COMPLETED")
    code, health = await bare.get("/health")
    assert code == 200 and health["jobs"]["completed"] == 1

    for auth in (None, "Bearer wrong-key-0123456789abcdef", "wrong-key-0123456789abcdef"):
        code, body = await raw(server, auth=auth).get(f"/status/{job_id}")
        assert code == 401 and body["error"] == "authentication required", auth
    # Another principal's job does not exist for it.
    code, _ = await raw(server, auth=BASIC).get(f"/status/{job_id}")
    assert code == 404

    other = Client(f"{server.base_url}/v2/some-other-endpoint", auth=f"Bearer {API_KEY}")
    try:
        for method, path in (("GET", "/health"), ("POST", "/run"), ("GET", f"/status/{job_id}")):
            code, body, _ = await other.request(method, path, json={"input": tiny_spec()})
            assert code == 404 and "some-other-endpoint" in body["error"], (method, path)
    finally:
        await other.close()
    for method, path in (("GET", "/status/nope"), ("GET", "/stream/nope"), ("POST", "/cancel/x")):
        code, body, _ = await bare.request(method, path)
        assert code == 404 and "not found" in body["error"]


async def test_refusals_name_runpod_fields(start_runpod_server, raw) -> None:
    server = await start_runpod_server()
    client = raw(server)

    async def refused(body: Any) -> list[str]:
        code, answer = await client.post("/run", body)
        assert code == 400, answer
        return sorted(error["field"] for error in answer["errors"])

    assert await refused({"webhook": "https://example.com/hook"}) == ["input"]
    bad_scene = {**tiny_spec(), "scenes": [{"type": "title", "title": "x", "duration": -1}]}
    assert await refused({"input": bad_scene}) == ["input.scenes[0].duration"]
    policy = {"executionTimeout": 100, "ttl": "soon", "lowPriority": "yes", "retries": 3}
    assert await refused({"input": tiny_spec(), "policy": policy}) == [
        "policy.executionTimeout",
        "policy.lowPriority",
        "policy.retries",
        "policy.ttl",
    ]
    assert await refused({"input": tiny_spec(), "s3Config": {"bucketName": "b"}}) == [
        "s3Config.accessId",
        "s3Config.accessSecret",
        "s3Config.bucketName",
        "s3Config.endpointUrl",
    ]
    assert await refused({"input": tiny_spec(), "webhook": "ftp://example.com/x"}) == ["webhook"]
    assert await refused({"input": {**tiny_spec(), "webhookUrl": "not a url"}}) == [
        "input.webhookUrl"
    ]
    code, body, _ = await client.request("POST", "/run", data=b"{not json")
    assert code == 400 and body["errors"][0]["field"] == "body"

    code, health = await client.get("/health")
    assert health["jobs"]["inQueue"] == 0  # nothing refused was queued
    assert 'reelfarm_jobs_refused_total{reason="invalid"} 6.0' in await _metrics(client, server)
    code, doc = await client.get(f"{server.base_url}/openapi.json")
    assert {"/v2/{endpoint_id}/run", "/v2/{endpoint_id}/stream/{job_id}"} <= set(doc["paths"])


async def _metrics(client: Client, server: Any) -> str:
    code, text = await client.get(f"{server.base_url}/metrics")
    assert code == 200
    return text


async def test_over_the_request_rate_answers_429_with_retry_after(start_runpod_server, raw) -> None:
    server = await start_runpod_server({"runpod": {"requests_per_s": 2}})
    client = raw(server)

    answers = [
        await client.request("GET", "/health"),
        await client.request("GET", "/health"),
        await client.request("POST", "/run", json={"input": tiny_spec()}),
    ]
    assert [code for code, _, _ in answers] == [200, 200, 429]
    _, body, headers = answers[2]
    assert headers["Retry-After"] == "1" and "requests per second" in body["error"]
    assert 'reelfarm_jobs_refused_total{reason="rate_limited"} 1.0' in await _metrics(
        client, server
    )
    # Each caller has its own budget.
    code, _ = await raw(server, auth=BASIC).get("/health")
    assert code == 200

    async def allowed_again() -> bool:
        code, _ = await client.get("/health")
        return code == 200

    await wait_until(allowed_again, 5, interval_s=0.25)
