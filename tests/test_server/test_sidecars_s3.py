"""Sidecar subtitles on the s3 output store, against moto's S3 server on loopback: uploaded
beside the video with their own content types, served by redirect to a presigned URL,
named by their objects in a client's own bucket (Runpod's `s3Config`), and deleted by
retention with the job's other objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from support.s3 import S3Fixture, moto_s3
from support.serverkit import Client, tiny_spec
from support.waiting import wait_until

from scenes.subtitles import Cue, parse_srt, parse_vtt

OPERATOR_BUCKET = "sidecar-outputs"
CLIENT_BUCKET = "sidecar-client"
PREFIX = "renders/"
ENDPOINT_ID = "sidecars"
SRT = "1\n00:00:00,100 --> 00:00:00,500\nBucket words\n"
CUES = [Cue(0.1, 0.5, "Bucket words")]
CAPTIONED = tiny_spec("S3", captions={"srt": SRT, "style": "plain"})
TYPES = {
    "captions.vtt": "text/vtt; charset=utf-8",
    "captions.srt": "application/x-subrip; charset=utf-8",
}


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Fixture]:
    with moto_s3(OPERATOR_BUCKET, CLIENT_BUCKET) as started:
        yield started


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's credentials from the environment only, as boto3's chain reads them."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "operator-key",
        "AWS_SECRET_ACCESS_KEY": "operator-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(key, value)


def _sections(s3: S3Fixture, retention_h: float = 72.0) -> dict[str, Any]:
    s3_section = {"bucket": OPERATOR_BUCKET, "prefix": PREFIX, "endpoint_url": s3.endpoint}
    return {
        "storage": {"retention_h": retention_h},
        "runpod": {"endpoint_id": ENDPOINT_ID},
        "outputs": {"backend": "s3", "allow_private_client_endpoints": True, "s3": s3_section},
    }


async def _completed(client: Client, spec: dict[str, Any]) -> dict[str, Any]:
    status, created = await client.post("/api/jobs", {"spec": spec})
    assert status == 202, created

    async def done() -> dict[str, Any] | None:
        _, job = await client.get(f"/api/jobs/{created['id']}")
        assert job["status"] not in ("failed", "cancelled"), job
        return job if job["status"] == "completed" else None

    return await wait_until(done, 60, what="job completed")


async def _plain_get(url: str) -> tuple[str, str]:
    """GET without our credentials (a presigned URL carries its own): (content type, text)."""
    async with aiohttp.ClientSession() as plain, plain.get(url) as answer:
        assert answer.status == 200, await answer.text()
        return answer.headers["Content-Type"], (await answer.read()).decode("utf-8")


async def test_sidecars_are_uploaded_typed_and_served_by_presigned_redirect(
    start_server, aws_env, s3: S3Fixture
) -> None:
    client = (await start_server(_sections(s3))).client
    job_id = (await _completed(client, CAPTIONED))["id"]
    prefix = f"{PREFIX}{job_id}/"
    assert s3.keys(OPERATOR_BUCKET, prefix) == [
        f"{prefix}{name}" for name in ("captions.srt", "captions.vtt", "poster.jpg", "video.mp4")
    ]
    for name, content_type in TYPES.items():
        stored = s3.client.get_object(Bucket=OPERATOR_BUCKET, Key=f"{prefix}{name}")
        assert stored["ContentType"] == content_type
        status, _, headers = await client.request(
            "GET", f"/api/jobs/{job_id}/{name}", raw=True, allow_redirects=False
        )
        assert status == 302 and headers["Cache-Control"] == "no-store"
        assert headers["Location"].startswith(f"{s3.endpoint}/{OPERATOR_BUCKET}/{prefix}{name}?")
        served_type, text = await _plain_get(headers["Location"])
        assert served_type == content_type
        parse = parse_vtt if name.endswith(".vtt") else parse_srt
        assert parse(text) == CUES


async def test_a_clients_bucket_gets_the_sidecars_and_the_output_names_them(
    start_server, aws_env, s3: S3Fixture
) -> None:
    client = (await start_server(_sections(s3))).client
    body = {
        "input": CAPTIONED,
        "s3Config": {
            "accessId": "client-key",
            "accessSecret": "client-secret",
            "bucketName": CLIENT_BUCKET,
            "endpointUrl": s3.endpoint,
        },
    }
    status, started = await client.post(f"/v2/{ENDPOINT_ID}/run", body)
    assert status == 200, started
    job_id = started["id"]

    async def completed() -> dict[str, Any] | None:
        _, answer = await client.get(f"/v2/{ENDPOINT_ID}/status/{job_id}")
        assert answer["status"] not in ("FAILED", "TIMED_OUT"), answer
        return answer if answer["status"] == "COMPLETED" else None

    output = (await wait_until(completed, 60, what="Runpod job completed"))["output"]
    objects = f"{s3.endpoint}/{CLIENT_BUCKET}/{job_id}"
    assert output["captions_vtt_url"] == f"{objects}/captions.vtt"
    assert output["captions_srt_url"] == f"{objects}/captions.srt"
    stored = s3.client.get_object(Bucket=CLIENT_BUCKET, Key=f"{job_id}/captions.srt")
    assert stored["ContentType"] == TYPES["captions.srt"]
    assert parse_srt(stored["Body"].read().decode("utf-8")) == CUES


async def test_retention_deletes_the_sidecar_objects(start_server, aws_env, s3: S3Fixture) -> None:
    client = (await start_server(_sections(s3, retention_h=3 / 3600))).client  # three seconds
    job_id = (await _completed(client, CAPTIONED))["id"]
    prefix = f"{PREFIX}{job_id}/"
    assert f"{prefix}captions.vtt" in s3.keys(OPERATOR_BUCKET, prefix)

    async def swept() -> bool:
        status, _ = await client.get(f"/api/jobs/{job_id}")
        return status == 404

    await wait_until(swept, 30, interval_s=0.2, what="job swept")
    assert s3.keys(OPERATOR_BUCKET, prefix) == []
