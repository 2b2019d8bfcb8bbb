"""The Node API contract: submit, job-status and queue-status shapes, idempotency, refusals at
submit (each naming its field), the queue bound, auth, and SSRF refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from support.serverkit import API_KEY, BEARER, Client, slow_spec, tiny_spec
from support.waiting import wait_until


async def test_submit_then_poll_to_completed_with_urls_that_serve(start_server) -> None:
    server = await start_server()
    client = server.client
    status, body = await client.post(
        "/api/generate-video-async", {**tiny_spec(), "metadata": {"order": 7}}
    )
    assert status == 200
    assert body["success"] is True and body["status"] in ("queued", "processing")
    assert set(body["queue"]) == {"position", "activeRenders", "maxConcurrent", "queueLength"}
    assert body["queue"]["maxConcurrent"] == 2
    job_id = body["jobId"]

    done = await client.wait_status(job_id, ("completed", "failed"))
    assert done["status"] == "completed", done
    assert done["progress"] == 100 and done["message"] == "Video ready"
    assert done["metadata"] == {"order": 7}
    assert set(done["queue"]) == {"activeRenders", "maxConcurrent", "queueLength"}
    assert done["videoUrl"] == f"{server.base_url}/api/jobs/{job_id}/video"

    status, video, headers = await client.request("GET", done["videoUrl"], raw=True)
    assert status == 200 and headers["Content-Type"] == "video/mp4"
    assert video[4:8] == b"ftyp"
    status, poster, headers = await client.request("GET", done["posterUrl"], raw=True)
    assert status == 200 and poster[:2] == b"\xff\xd8"


async def test_processing_status_reports_progress_and_queued_reports_position(
    start_server, shared_assets: Path
) -> None:
    server = await start_server({"pool": {"max_concurrent": 1}})
    client = server.client
    running = await client.submit(slow_spec(shared_assets))
    waiting = await client.submit(tiny_spec())

    async def rendering() -> dict[str, Any] | None:
        body = await client.status(running)
        return body if body["status"] == "processing" and body["progress"] > 0 else None

    body = await wait_until(rendering, 60)
    assert body["message"] == f"Rendering: {body['progress']}%"
    assert body["queue"] == {"activeRenders": 1, "maxConcurrent": 1, "queueLength": 1}
    queued = await client.status(waiting)
    assert queued["status"] == "queued" and queued["position"] == 1
    assert queued["message"] == "Queued at position 1"

    status, queue = await client.get("/api/queue-status")
    assert status == 200
    assert queue["activeRenders"] == 1 and queue["availableSlots"] == 0
    assert queue["queueLength"] == 1 and queue["holding"] is None
    assert [j["jobId"] for j in queue["queuedJobs"]] == [waiting]
    assert queue["queuedJobs"][0]["queuedAt"].endswith("Z")
    await client.request("DELETE", f"/api/jobs/{running}")


async def test_idempotency_key_returns_the_same_job(start_server) -> None:
    client = (await start_server()).client
    headers = {"Idempotency-Key": "order-42"}
    _, first = await client.post("/api/generate-video-async", tiny_spec(), headers=headers)
    _, again = await client.post("/api/generate-video-async", tiny_spec(), headers=headers)
    _, other = await client.post("/api/generate-video-async", tiny_spec())
    assert first["jobId"] == again["jobId"] != other["jobId"]
    status, jobs = await client.get("/api/jobs")
    assert status == 200 and jobs["total"] == 2


MALFORMED: list[tuple[str, Any, str]] = [
    ("not json", b"{scenes: [", "body"),
    ("a list", [1, 2], "body"),
    ("empty", b"", "body"),
    ("no scenes", {"theme": "default"}, "scenes"),
    ("unknown theme", tiny_spec(theme="no-such-theme"), "theme"),
    ("bad theme name", tiny_spec(theme="../etc"), "theme"),
    ("duration out of range", tiny_spec(duration=-1), "scenes[0].duration"),
    ("odd width", {**tiny_spec(), "width": 161}, "width"),
    ("huge fps", {**tiny_spec(), "fps": 1000}, "fps"),
    (
        "unknown scene type",
        {**tiny_spec(), "scenes": [{"type": "nope", "duration": 1}]},
        "scenes[0]",
    ),
    ("typo field", {**tiny_spec(), "titel": "x"}, "titel"),
    ("priority too high", {**tiny_spec(), "priority": 10}, "priority"),
    ("priority not int", {**tiny_spec(), "priority": "high"}, "priority"),
    ("metadata not object", {**tiny_spec(), "metadata": [1]}, "metadata"),
    ("webhook not a url", {**tiny_spec(), "webhookUrl": "ftp://x"}, "webhookUrl"),
    ("nested too deep", b"[" * 100_000 + b"]" * 100_000, "body"),
]


@pytest.mark.parametrize(("case", "body", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_input_is_a_4xx_naming_the_field(
    start_server, case: str, body: Any, field: str
) -> None:
    server = await start_server(ready=False)
    client = server.client
    if isinstance(body, bytes):
        status, out, _ = await client.request(
            "POST",
            "/api/generate-video-async",
            data=body,
            headers={"Content-Type": "application/json"},
        )
    else:
        status, out = await client.post("/api/generate-video-async", body)
    assert status == 400, out
    assert out["success"] is False and isinstance(out["error"], str)
    fields = [e["field"] for e in out["errors"]]
    assert any(f == field or f.startswith(field) for f in fields), (case, out)
    # The server is still serving.
    status, _ = await client.get("/healthz")
    assert status == 200


async def test_an_unknown_theme_is_reported_with_the_other_problems(start_server) -> None:
    client = (await start_server(ready=False)).client
    status, out = await client.post(
        "/api/generate-video-async", tiny_spec(theme="no-such-theme", duration=-1)
    )
    assert status == 400, out
    fields = {e["field"]: e["message"] for e in out["errors"]}
    assert fields["scenes[0].duration"] == "must be > 0"
    assert "unknown theme 'no-such-theme'" in fields["theme"]


async def test_every_malformed_input_back_to_back_leaves_the_server_serving(
    start_server,
) -> None:
    client = (await start_server(ready=False)).client
    for _, body, _ in MALFORMED:
        kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
        status, out, _ = await client.request("POST", "/api/generate-video-async", **kwargs)
        assert 400 <= status < 500 and "error" in out
    for path in ("/api/job-status/nope", "/api/jobs/nope", "/api/jobs/nope/video"):
        status, out = await client.get(path)
        assert status == 404 and "error" in out
    status, out = await client.get("/api/jobs?limit=abc")
    assert status == 400 and out["errors"][0]["field"] == "limit"
    status, out = await client.get("/api/jobs?status=weird")
    assert status == 400 and out["errors"][0]["field"] == "status"


async def test_body_over_the_limit_is_413(start_server) -> None:
    client = (await start_server({"server": {"max_body_mb": 0.01}}, ready=False)).client
    big = tiny_spec(title="x" * 100)
    big["metadata"] = {"blob": "y" * 20_000}
    status, out, _ = await client.request("POST", "/api/generate-video-async", json=big)
    assert status == 413 and out["success"] is False


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("webhookUrl", "http://127.0.0.1:9/hook", "webhookUrl"),
        ("webhookUrl", "http://169.254.169.254/latest", "webhookUrl"),
        ("webhookUrl", "http://[::1]/hook", "webhookUrl"),
        ("webhookUrl", "http://localhost/hook", "webhookUrl"),
        ("src", "http://10.0.0.5/a.jpg", "scenes[0].src"),
        ("src", "http://169.254.169.254/a.jpg", "scenes[0].src"),
        ("src", "/etc/passwd", "scenes[0].src"),
    ],
)
async def test_ssrf_and_local_file_refusals_at_submit(
    start_server, field: str, value: str, path: str
) -> None:
    server = await start_server({"webhooks": {"allow_private_targets": False}}, ready=False)
    if field == "webhookUrl":
        body = {**tiny_spec(), "webhookUrl": value}
    else:
        body = {**tiny_spec(), "scenes": [{"type": "image", "src": value, "duration": 1}]}
    status, out = await server.client.post("/api/generate-video-async", body)
    assert status == 400
    assert [e["field"] for e in out["errors"]] == [path], out


async def test_queue_full_is_429_with_retry_after(start_server, shared_assets: Path) -> None:
    server = await start_server({"pool": {"max_concurrent": 1}, "admission": {"max_queue": 2}})
    client = server.client
    running = await client.submit(slow_spec(shared_assets))
    await client.wait_status(running, ("processing",))
    for _ in range(2):
        await client.submit(tiny_spec())
    status, out, headers = await client.request(
        "POST", "/api/generate-video-async", json=tiny_spec()
    )
    assert status == 429
    assert int(headers["Retry-After"]) >= 1
    assert "queue is full" in out["error"]
    await client.request("DELETE", f"/api/jobs/{running}")


async def test_auth_is_required_everywhere_but_health(start_server) -> None:
    server = await start_server(ready=False)
    anonymous = Client(server.base_url, auth=None)
    wrong = Client(server.base_url, auth="Basic " + "YWRtaW46d3Jvbmc=")  # admin:wrong
    bearer = Client(server.base_url, auth=BEARER)
    raw_key = Client(server.base_url, auth=API_KEY)
    try:
        for path in ("/healthz", "/readyz"):
            status, _ = await anonymous.get(path)
            assert status in (200, 503)
        protected = [
            ("GET", "/api/queue-status"),
            ("GET", "/api/job-status/x"),
            ("POST", "/api/generate-video-async"),
            ("POST", "/api/reels/"),
            ("GET", "/api/reels/x/"),
            ("GET", "/api/jobs"),
            ("DELETE", "/api/jobs/x"),
            ("GET", "/api/jobs/x/video"),
            ("GET", "/api/themes"),
            ("GET", "/api/schema"),
            ("GET", "/openapi.json"),
        ]
        for method, path in protected:
            for client in (anonymous, wrong):
                status, body, headers = await client.request(method, path, json=tiny_spec())
                assert status == 401, (method, path)
                assert headers["WWW-Authenticate"].startswith("Basic")
                assert body["error"] == "authentication required"
        for client in (bearer, raw_key, server.client):
            status, _ = await client.get("/api/queue-status")
            assert status == 200
    finally:
        await asyncio.gather(anonymous.close(), wrong.close(), bearer.close(), raw_key.close())


async def test_jobs_are_private_to_the_caller_that_submitted_them(start_server) -> None:
    server = await start_server(ready=False)
    job_id = await server.client.submit(tiny_spec())
    other = Client(server.base_url, auth=BEARER)  # a different principal than the Basic user
    try:
        status, _ = await other.get(f"/api/job-status/{job_id}")
        assert status == 404
        status, listed = await other.get("/api/jobs")
        assert listed["total"] == 0
    finally:
        await other.close()


async def test_higher_priority_jumps_the_queue_fifo_within_a_priority(
    start_server, shared_assets: Path
) -> None:
    client = (await start_server({"pool": {"max_concurrent": 1}})).client
    blocker = await client.submit(slow_spec(shared_assets))
    await client.wait_status(blocker, ("processing",))
    low_1 = await client.submit(tiny_spec())
    low_2 = await client.submit(tiny_spec())
    _, urgent = await client.post("/api/generate-video-async", {**tiny_spec(), "priority": 9})
    assert urgent["queue"]["position"] == 1
    positions = [(await client.status(j))["position"] for j in (urgent["jobId"], low_1, low_2)]
    assert positions == [1, 2, 3]
    _, queue = await client.get("/api/queue-status")
    assert [j["jobId"] for j in queue["queuedJobs"]] == [urgent["jobId"], low_1, low_2]
    await client.request("DELETE", f"/api/jobs/{blocker}")
