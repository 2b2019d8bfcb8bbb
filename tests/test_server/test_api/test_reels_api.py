"""The Django app's contract: sync (200 with the finished reel), the wait limit (202),
async (202 at once, by query or by config) and polling with pending/processing/done/failed."""

from __future__ import annotations

from pathlib import Path

from support.serverkit import slow_spec, tiny_spec
from support.waiting import wait_until


async def test_sync_create_waits_and_answers_the_finished_reel(start_server) -> None:
    server = await start_server()
    status, reel = await server.client.post("/api/reels/", tiny_spec())
    assert status == 200, reel
    assert reel["status"] == "done" and reel["progress"] == 100
    assert reel["video_url"] == f"{server.base_url}/api/jobs/{reel['id']}/video"
    assert reel["duration_s"] == 1.0 and reel["error"] is None
    status, video, _ = await server.client.request("GET", reel["video_url"], raw=True)
    assert status == 200 and video[4:8] == b"ftyp"
    status, again = await server.client.get(f"/api/reels/{reel['id']}/")
    assert status == 200 and again["status"] == "done" and again["video_url"] == reel["video_url"]


async def test_sync_create_past_the_wait_limit_answers_202_with_the_id(
    start_server, shared_assets: Path
) -> None:
    server = await start_server({"server": {"sync_wait_s": 0.5}})
    status, reel = await server.client.post("/api/reels/", slow_spec(shared_assets))
    assert status == 202, reel
    assert reel["status"] in ("pending", "processing") and reel["id"]
    assert reel["status_url"].endswith(f"/api/reels/{reel['id']}/")
    await server.client.request("DELETE", f"/api/jobs/{reel['id']}")
    status, cancelled = await server.client.get(f"/api/reels/{reel['id']}")
    assert status == 200 and cancelled["status"] == "failed"


async def test_async_query_answers_at_once_then_polls_to_done(start_server) -> None:
    server = await start_server()
    client = server.client
    status, reel = await client.post("/api/reels/?async=true", tiny_spec())
    assert status == 202 and reel["status"] in ("pending", "processing")
    seen = set()

    async def finished() -> dict | None:
        status, polled = await client.get(f"/api/reels/{reel['id']}/")
        assert status == 200
        seen.add(polled["status"])
        return polled if polled["status"] in ("done", "failed") else None

    polled = await wait_until(finished, 60)
    assert polled["status"] == "done" and polled["video_url"]
    assert seen <= {"pending", "processing", "done"}
    status, listing = await client.get("/api/reels/")
    assert status == 200 and listing["count"] == 1 and listing["results"][0]["id"] == reel["id"]


async def test_async_processing_config_makes_async_the_default(start_server) -> None:
    server = await start_server({"server": {"async_processing": True}})
    status, reel = await server.client.post("/api/reels/", tiny_spec())
    assert status == 202 and reel["status"] in ("pending", "processing")
    # ?async=false still asks for the sync answer.
    status, done = await server.client.post("/api/reels/?async=false", tiny_spec())
    assert status == 200 and done["status"] == "done"


async def test_a_failed_render_is_reported_as_failed(start_server, shared_assets: Path) -> None:
    server = await start_server()
    spec = {
        **tiny_spec(),
        "scenes": [{"type": "image", "src": str(shared_assets / "README.md"), "duration": 1}],
    }
    status, reel = await server.client.post("/api/reels/", spec)
    assert status == 200 and reel["status"] == "failed" and reel["error"]
    assert reel["video_url"] is None


async def test_invalid_reel_is_400_naming_the_field(start_server) -> None:
    server = await start_server(ready=False)
    status, out = await server.client.post("/api/reels/", {**tiny_spec(), "fps": 0})
    assert status == 400 and out["errors"][0]["field"] == "fps"
    status, out = await server.client.post("/api/reels/?async=maybe", tiny_spec())
    assert status == 400 and out["errors"][0]["field"] == "async"
