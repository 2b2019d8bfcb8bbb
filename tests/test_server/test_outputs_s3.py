"""Outputs in an S3-compatible bucket, against moto's S3 server on loopback: a real
`reelfarm serve` with `[outputs] backend = "s3"` uploads its renders, answers a download with a
redirect to a presigned URL that returns the video, and retention deletes the objects; a Runpod
request's `s3Config` sends the video to the client's own bucket and names it in the output,
its endpoint under the private-address rule, and its secret nowhere in any answer or log line.

moto checks no signatures and no permissions: what these tests prove is the traffic (keys,
uploads, presigned GETs, deletes), not that a real S3 would accept the credentials."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.media import probe
from support.s3 import S3Fixture, moto_s3
from support.serverkit import (
    BEARER,
    Client,
    ServeProcess,
    base_overrides,
    free_port,
    merge,
    tiny_spec,
    wait_until,
    write_config,
)
from support.waiting import wait_until_blocking

from server.config import ConfigError, load_config
from server.outputs import OutputError
from server.outputs.s3 import refuse_private_host

OPERATOR_BUCKET = "reelfarm-outputs"
CLIENT_BUCKET = "client-videos"
PREFIX = "renders/"
PRESIGN_S = 120
# Long enough to see the objects once the job completes, short enough to wait for the sweep.
RETENTION_H = 3 / 3600
ENDPOINT_ID = "s3-endpoint"
# Distinctive, so a leak anywhere is found by a plain substring search.
OPERATOR_SECRET = "operator-secret-9f3b1c7e5a"
CLIENT_SECRET = "client-secret-4d2e8a6b0c"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "operator-key",
    "AWS_SECRET_ACCESS_KEY": OPERATOR_SECRET,
    "AWS_DEFAULT_REGION": "us-east-1",
    # Only these variables: no profile or credentials file of the machine running the tests.
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
}


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Fixture]:
    with moto_s3(OPERATOR_BUCKET, CLIENT_BUCKET) as started:
        yield started


def _sections(
    data_dir: Path, port: int, s3: S3Fixture, retention_h: float, **outputs: Any
) -> dict[str, Any]:
    return merge(
        base_overrides(data_dir, port),
        {
            "server": {"log_format": "json", "log_level": "debug"},
            "storage": {"retention_h": retention_h},
            "runpod": {"endpoint_id": ENDPOINT_ID},
            "outputs": {"backend": "s3", **outputs},
            "outputs.s3": {
                "bucket": OPERATOR_BUCKET,
                "prefix": PREFIX,
                "endpoint_url": s3.endpoint,
                "presign_s": PRESIGN_S,
            },
        },
    )


@dataclass
class Served:
    proc: ServeProcess
    base_url: str
    data_dir: Path


def _serve(tmp: Path, s3: S3Fixture, retention_h: float = 72.0, **outputs: Any) -> Served:
    port = free_port()
    sections = _sections(tmp / "data", port, s3, retention_h, **outputs)
    config_file = write_config(tmp / "config.toml", sections)
    proc = ServeProcess(config_file, tmp / "server.log", env=AWS_ENV)
    proc.start()
    base_url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as answer:  # noqa: S310
            return answer.status == 200

    try:
        wait_until_blocking(ready, 60, "server ready")
    except BaseException:
        proc.stop()
        raise
    return Served(proc, base_url, tmp / "data")


@pytest.fixture(scope="module")
def served(s3: S3Fixture, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One `reelfarm serve` on the s3 backend that may upload to loopback client buckets."""
    server = _serve(tmp_path_factory.mktemp("s3-serve"), s3, allow_private_client_endpoints=True)
    yield server
    server.proc.stop()


@pytest.fixture
async def client(served: Served) -> AsyncIterator[Client]:
    http = Client(served.base_url, auth=BEARER)
    yield http
    await http.close()


async def _completed_native(client: Client, spec: dict[str, Any]) -> dict[str, Any]:
    status, body = await client.post("/api/jobs", {"spec": spec})
    assert status == 202, body

    async def done() -> dict[str, Any] | None:
        _, job = await client.get(f"/api/jobs/{body['id']}")
        assert job["status"] not in ("failed", "cancelled"), job
        return job if job["status"] == "completed" else None

    return await wait_until(done, 60, what="job completed")


async def _fetched(url: str, tmp_path: Path, name: str) -> Path:
    """GET without our credentials (a presigned URL carries its own), to a file."""
    async with aiohttp.ClientSession() as plain, plain.get(url) as answer:
        assert answer.status == 200, await answer.text()
        path = tmp_path / name
        path.write_bytes(await answer.read())
    return path


async def test_download_redirects_to_a_presigned_url_of_the_uploaded_video(
    client: Client, served: Served, s3: S3Fixture, tmp_path: Path
) -> None:
    job = await _completed_native(client, tiny_spec("Bucket"))
    job_id = job["id"]
    assert s3.keys(OPERATOR_BUCKET, f"{PREFIX}{job_id}/") == [
        f"{PREFIX}{job_id}/poster.jpg",
        f"{PREFIX}{job_id}/video.mp4",
    ]
    # Uploaded: the node keeps no copy of its own.
    assert not (served.data_dir / "jobs" / job_id / "video.mp4").exists()

    status, _, headers = await client.request(
        "GET", f"/api/jobs/{job_id}/video", raw=True, allow_redirects=False
    )
    assert status == 302
    location = headers["Location"]
    assert location.startswith(f"{s3.endpoint}/{OPERATOR_BUCKET}/{PREFIX}{job_id}/video.mp4?")
    assert f"X-Amz-Expires={PRESIGN_S}" in location and "X-Amz-Signature=" in location
    assert headers["Cache-Control"] == "no-store"

    info = probe(await _fetched(location, tmp_path, "video.mp4"))
    assert (info.video_codec, info.width, info.height) == ("h264", 160, 284)
    assert 0.8 <= info.duration_s <= 1.3
    status, poster, headers = await client.request(
        "GET", f"/api/jobs/{job_id}/poster", raw=True
    )  # followed: the bucket answers
    assert status == 200 and poster[:3] == b"\xff\xd8\xff"


def _runpod_body(s3: S3Fixture, endpoint: str | None = None) -> dict[str, Any]:
    return {
        "input": tiny_spec("Yours"),
        "s3Config": {
            "accessId": "client-key",
            "accessSecret": CLIENT_SECRET,
            "bucketName": CLIENT_BUCKET,
            "endpointUrl": endpoint or s3.endpoint,
        },
    }


def _secret_free(answer: Any) -> None:
    text = answer if isinstance(answer, str | bytes) else json.dumps(answer)
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    assert CLIENT_SECRET not in text and OPERATOR_SECRET not in text


async def test_runpod_s3config_lands_in_the_clients_bucket_and_its_secret_is_never_shown(
    client: Client, served: Served, s3: S3Fixture, tmp_path: Path
) -> None:
    runpod = f"/v2/{ENDPOINT_ID}"
    status, started = await client.post(f"{runpod}/run", _runpod_body(s3))
    assert status == 200, started
    _secret_free(started)
    job_id = started["id"]

    async def completed() -> dict[str, Any] | None:
        _, body = await client.get(f"{runpod}/status/{job_id}")
        _secret_free(body)
        assert body["status"] not in ("FAILED", "TIMED_OUT"), body
        return body if body["status"] == "COMPLETED" else None

    body = await wait_until(completed, 60, what="Runpod job completed")
    video_url = f"{s3.endpoint}/{CLIENT_BUCKET}/{job_id}/video.mp4"
    assert body["output"]["video_url"] == video_url
    assert body["output"]["poster_url"] == f"{s3.endpoint}/{CLIENT_BUCKET}/{job_id}/poster.jpg"
    assert s3.keys(CLIENT_BUCKET, f"{job_id}/") == [f"{job_id}/poster.jpg", f"{job_id}/video.mp4"]
    assert s3.keys(OPERATOR_BUCKET, f"{PREFIX}{job_id}/") == []  # not ours to keep
    # The object URL is the client's to read with its own keys (the bucket is private).
    obj = s3.client.get_object(Bucket=CLIENT_BUCKET, Key=f"{job_id}/video.mp4")
    assert obj["ContentType"] == "video/mp4"
    (tmp_path / "client.mp4").write_bytes(obj["Body"].read())
    info = probe(tmp_path / "client.mp4")
    assert (info.width, info.height) == (160, 284)

    # Every other answer about the job, and the server's log, leave the secret out.
    for path in (
        f"{runpod}/stream/{job_id}",
        f"/api/jobs/{job_id}",
        "/api/jobs",
        f"/api/job-status/{job_id}",
    ):
        status, answer, _ = await client.request("GET", path, raw=True)
        assert status == 200, path
        _secret_free(answer)
    # The native download goes to the client's bucket too, presigned with the client's key.
    status, _, headers = await client.request(
        "GET", f"/api/jobs/{job_id}/video", raw=True, allow_redirects=False
    )
    assert status == 302 and headers["Location"].startswith(video_url + "?")
    assert "Credential=client-key" in headers["Location"]
    _secret_free(headers["Location"])
    _secret_free(served.proc.logs())


async def test_s3config_fields_are_checked_without_echoing_them(
    client: Client, s3: S3Fixture
) -> None:
    body = _runpod_body(s3)
    body["s3Config"] = {**body["s3Config"], "bucketName": "No_Such", "extra": CLIENT_SECRET}
    del body["s3Config"]["accessId"]
    status, answer = await client.post(f"/v2/{ENDPOINT_ID}/run", body)
    assert status == 400, answer
    assert sorted(e["field"] for e in answer["errors"]) == [
        "s3Config.accessId",
        "s3Config.bucketName",
        "s3Config.extra",
    ]
    _secret_free(answer)
    status, answer = await client.post(
        f"/v2/{ENDPOINT_ID}/run", {"input": tiny_spec(), "s3Config": None}
    )
    assert status == 400 and [e["field"] for e in answer["errors"]] == ["s3Config"]


async def test_retention_deletes_the_objects_and_a_private_client_endpoint_is_refused(
    s3: S3Fixture, tmp_path: Path
) -> None:
    """A second node on the same bucket: retention of two seconds, no private client buckets."""
    served = _serve(tmp_path, s3, retention_h=RETENTION_H)
    http = Client(served.base_url, auth=BEARER)
    try:
        status, answer = await http.post(
            f"/v2/{ENDPOINT_ID}/run", _runpod_body(s3, "http://127.0.0.1:9000")
        )
        assert status == 400, answer
        assert [e["field"] for e in answer["errors"]] == ["s3Config.endpointUrl"]
        _secret_free(answer)
        status, answer = await http.post(
            f"/v2/{ENDPOINT_ID}/run", _runpod_body(s3, "http://localhost:9000")
        )
        assert status == 400 and answer["errors"][0]["field"] == "s3Config.endpointUrl"

        job = await _completed_native(http, tiny_spec("Swept"))
        prefix = f"{PREFIX}{job['id']}/"
        assert len(s3.keys(OPERATOR_BUCKET, prefix)) == 2

        async def swept() -> bool:
            status, _ = await http.get(f"/api/jobs/{job['id']}")
            return status == 404

        await wait_until(swept, 30, interval_s=0.2, what="job swept")
        assert s3.keys(OPERATOR_BUCKET, prefix) == []
        _secret_free(served.proc.logs())
    finally:
        await http.close()
        served.proc.stop()


def test_outputs_config_from_file_and_environment(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        '[outputs]\nbackend = "s3"\n[outputs.s3]\nbucket = "from-file"\nprefix = "a/"\n'
    )
    config = load_config(
        config_file,
        environ={"REELFARM_OUTPUTS_S3_BUCKET": "from-env", "REELFARM_OUTPUTS_S3_PRESIGN_S": "60"},
    )
    assert config.outputs.backend == "s3"
    assert (config.outputs.s3.bucket, config.outputs.s3.prefix) == ("from-env", "a/")
    assert config.outputs.s3.presign_s == 60
    assert load_config(environ={}).outputs.backend == "local"


@pytest.mark.parametrize(
    ("outputs", "problem"),
    [
        ({"backend": "s3"}, "outputs.s3.bucket: required"),
        ({"backend": "gcs"}, "outputs.backend: must be one of"),
        ({"s3": {"bucket": "Bad_Name"}}, "outputs.s3.bucket: must be"),
        ({"s3": {"presign_s": 0}}, "outputs.s3.presign_s: must be"),
        ({"s3": {"endpoint_url": "ftp://x"}}, "outputs.s3.endpoint_url: must be an http(s) URL"),
        ({"s3": {"endpoint_url": "http://k:s@x"}}, "outputs.s3.endpoint_url: must not carry"),
        ({"s3": {"secret": "x"}}, "outputs.s3.secret: unknown key"),
        ({"s3": "bucket"}, "outputs.s3: must be a table"),
    ],
)
def test_outputs_config_errors_name_the_key(outputs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(overrides={"outputs": outputs}, environ={})
    assert len(refused.value.problems) == 1
    assert refused.value.problems[0].startswith(problem), refused.value.problems


def test_a_client_endpoint_name_that_resolves_to_loopback_is_refused_at_upload() -> None:
    """Submission refuses literal private hosts; a name is checked where it points when the
    upload starts (`localhost` is in every /etc/hosts, so no DNS is needed)."""
    with pytest.raises(OutputError, match="resolves to a private address"):
        refuse_private_host("http://localhost:9000")
