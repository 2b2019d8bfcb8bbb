"""Sidecar subtitles through the server: a spec with captions renders captions.vtt and .srt
kept with the job, served with their own content types under the video's auth and ownership
rules, named in every contract's status answer, and swept with the job's other files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.serverkit import BEARER, Client, slow_spec, tiny_spec
from support.waiting import wait_until

from scenes.subtitles import Cue, parse_srt, parse_vtt

ENDPOINT_ID = "captions"
# Scripts the formats must carry unchanged (mixed on purpose, hence the noqa), on the video's
# timeline. Times on the 10 fps frame grid and pauses longer than a caption page is held across,
# so the cues burned in, and written beside the video, are these exactly.
CUES = [
    Cue(0.1, 0.5, "Hello & <welcome>"),
    Cue(1.0, 1.4, "Привет мир\nمرحبا שלום"),  # noqa: RUF001
    Cue(1.9, 2.3, "你好世界"),
]
SRT = (
    "1\n00:00:00,100 --> 00:00:00,500\nHello & <welcome>\n\n"
    "2\n00:00:01,000 --> 00:00:01,400\nПривет мир\nمرحبا שלום\n\n"  # noqa: RUF001
    "3\n00:00:01,900 --> 00:00:02,300\n你好世界\n"
)
# One page a cue: plain subtitle lines, as many words and lines as the cues have.
CAPTIONS = {"srt": SRT, "style": "plain", "max_words": 12, "max_lines": 3}
VTT_TYPE = "text/vtt; charset=utf-8"
SRT_TYPE = "application/x-subrip; charset=utf-8"


def captioned_spec() -> dict[str, Any]:
    return tiny_spec("Captions", duration=2.5, captions=CAPTIONS)


async def _completed(client: Client, spec: dict[str, Any]) -> dict[str, Any]:
    status, created = await client.post("/api/jobs", {"spec": spec})
    assert status == 202, created

    async def done() -> dict[str, Any] | None:
        _, job = await client.get(f"/api/jobs/{created['id']}")
        assert job["status"] not in ("failed", "cancelled"), job
        return job if job["status"] == "completed" else None

    return await wait_until(done, 60, what="job completed")


async def _text(client: Client, url: str, content_type: str, **kw: Any) -> str:
    status, body, headers = await client.request("GET", url, raw=True, **kw)
    assert status == 200, body
    assert headers["Content-Type"] == content_type
    return body.decode("utf-8")


async def test_a_captioned_job_serves_both_sidecars_with_its_cues(start_server) -> None:
    server = await start_server({"runpod": {"endpoint_id": ENDPOINT_ID}})
    client = server.client
    job = await _completed(client, captioned_spec())
    job_id, result = job["id"], job["result"]
    base = f"{server.base_url}/api/jobs/{job_id}"
    assert result["captions_vtt_url"] == f"{base}/captions.vtt"
    assert result["captions_srt_url"] == f"{base}/captions.srt"

    vtt = await _text(client, result["captions_vtt_url"], VTT_TYPE)
    srt = await _text(client, result["captions_srt_url"], SRT_TYPE)
    assert vtt.startswith("WEBVTT") and "&lt;welcome&gt;" in vtt
    assert parse_vtt(vtt) == CUES
    assert parse_srt(srt) == CUES
    # Kept with the job, beside its video and poster.
    kept = server.config.storage.data_dir / "jobs" / job_id
    assert sorted(p.name for p in kept.iterdir()) == [
        "captions.srt",
        "captions.vtt",
        "poster.jpg",
        "video.mp4",
    ]
    # The same files over HTTP Range, as the video is served.
    status, part, _ = await client.request(
        "GET", result["captions_vtt_url"], raw=True, headers={"Range": "bytes=0-5"}
    )
    assert status == 206 and part == b"WEBVTT"


async def test_every_contract_names_the_sidecars_beside_the_video(start_server, receiver) -> None:
    server = await start_server({"runpod": {"endpoint_id": ENDPOINT_ID}})
    client = server.client
    job_id = await client.submit(captioned_spec(), webhookUrl=receiver.url)
    await client.wait_status(job_id, ("completed",))
    vtt_url = f"{server.base_url}/api/jobs/{job_id}/captions.vtt"
    srt_url = f"{server.base_url}/api/jobs/{job_id}/captions.srt"

    node = await client.status(job_id)
    assert (node["captionsVttUrl"], node["captionsSrtUrl"]) == (vtt_url, srt_url)
    assert node["videoUrl"].endswith("/video")
    _, reel = await client.get(f"/api/reels/{job_id}/")
    assert (reel["captions_vtt_url"], reel["captions_srt_url"]) == (vtt_url, srt_url)
    _, runpod = await client.get(f"/v2/{ENDPOINT_ID}/status/{job_id}")
    output = runpod["output"]
    assert (output["captions_vtt_url"], output["captions_srt_url"]) == (vtt_url, srt_url)
    assert parse_srt(await _text(client, output["captions_srt_url"], SRT_TYPE)) == CUES

    async def completed_hook() -> dict[str, Any] | None:
        done = [d for d in receiver.accepted() if d["event"] == "completed"]
        return done[0] if done else None

    hook = await wait_until(completed_hook, 15, what="completed webhook")
    assert (hook["captionsVttUrl"], hook["captionsSrtUrl"]) == (vtt_url, srt_url)
    started = [d for d in receiver.accepted() if d["event"] != "completed"]
    assert started and all("captionsVttUrl" not in d for d in started)


async def test_without_captions_the_routes_answer_404_and_the_answers_keep_their_keys(
    start_server, shared_assets: Path
) -> None:
    server = await start_server({"runpod": {"endpoint_id": ENDPOINT_ID}})
    client = server.client
    plain = await _completed(client, tiny_spec("No captions"))
    assert plain["result"]["captions_vtt_url"] is None
    assert plain["result"]["captions_srt_url"] is None
    for kind in ("vtt", "srt"):
        status, body = await client.get(f"/api/jobs/{plain['id']}/captions.{kind}")
        assert status == 404 and "has no" in body["error"] and "captions" in body["error"]
    node = await client.status(plain["id"])
    assert "captionsVttUrl" not in node and "captionsSrtUrl" not in node
    _, runpod = await client.get(f"/v2/{ENDPOINT_ID}/status/{plain['id']}")
    assert "captions_vtt_url" not in runpod["output"]
    _, reel = await client.get(f"/api/reels/{plain['id']}/")
    assert reel["captions_vtt_url"] is None

    # A captioned job that has not finished has none yet.
    running = await client.submit({**slow_spec(shared_assets), "captions": CAPTIONS})
    await client.wait_status(running, ("processing",))
    status, body = await client.get(f"/api/jobs/{running}/captions.vtt")
    assert status == 404 and "status: processing" in body["error"]
    await client.request("DELETE", f"/api/jobs/{running}")


async def test_sidecars_follow_the_videos_auth_and_ownership(start_server) -> None:
    server = await start_server()
    client = server.client
    job_id = (await _completed(client, captioned_spec()))["id"]
    url = f"/api/jobs/{job_id}/captions.srt"
    anonymous = Client(server.base_url, auth=None)
    other = Client(server.base_url, auth=BEARER)  # another principal than the submitter
    try:
        status, body = await anonymous.get(url)
        assert status == 401 and body["error"] == "authentication required"
        for path in (url, f"/api/jobs/{job_id}/video"):
            status, body = await other.get(path)
            assert status == 404 and "error" in body
    finally:
        await anonymous.close()
        await other.close()
    assert parse_srt(await _text(client, url, SRT_TYPE)) == CUES


async def test_retention_sweeps_the_sidecars_with_the_video(start_server) -> None:
    server = await start_server({"storage": {"retention_h": 2 / 3600}})  # two seconds
    client = server.client
    job_id = (await _completed(client, captioned_spec()))["id"]
    kept = server.config.storage.data_dir / "jobs" / job_id
    assert (kept / "captions.vtt").is_file() and (kept / "captions.srt").is_file()

    async def swept() -> bool:
        status, _ = await client.get(f"/api/jobs/{job_id}/captions.vtt")
        return status == 404 and not kept.exists()

    await wait_until(swept, 15, interval_s=0.2, what="captions swept")
