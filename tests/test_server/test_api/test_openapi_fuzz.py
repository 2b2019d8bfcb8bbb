"""The API against its own OpenAPI document: schemathesis runs every operation of the served
`/openapi.json` on a real server, authenticated, with schema examples, boundary values, random
valid and invalid data and inferred links between operations, and every answer must be one the
document allows (status, content type, body), every input it forbids refused with a 4xx, and
every protected operation closed without credentials."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest
from support.serverkit import PASSWORD, USER, tiny_spec

from server.state import WEBHOOKS

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
)
# Fuzzed specs queue but never render: the disk gate asks for more free space than any box has,
# so the scheduler holds every job while submissions are still checked, stored and answered.
# Bounded waits (a sync reel gives up at once), and no rate limit between fuzzer and server.
ENDPOINT_ID = "fuzzed"
HELD = {
    "admission": {"min_free_disk_mb": 2**40},
    "pool": {"max_concurrent": 1},
    "server": {"sync_wait_s": 0.1},
    "runpod": {"endpoint_id": ENDPOINT_ID, "requests_per_s": 1_000_000.0},
}
SCHEMATHESIS_TOML = f"""
# Any other endpoint id is a plain 404: fuzz the Runpod operations behind the configured one.
[parameters]
"path.endpoint_id" = "{ENDPOINT_ID}"

# /runsync waits `wait` ms for a render that never starts here: the shortest wait, and its
# boundary cases only the invalid ones (each valid one would wait; /run takes those).
[[operations]]
include-path-regex = "/runsync$"
parameters."query.wait" = 1000
phases.coverage.generation.mode = "negative"

# Schemathesis 4.32 cannot draw bodies for these two in its fuzzing phase ("Cannot generate
# test data", for a required property named `input`); examples, coverage and stateful do.
[[operations]]
include-path-regex = "^/v2/[^/]+/(run|runsync)$"
phases.fuzzing.enabled = false
"""
MAX_EXAMPLES = 15
RUN_TIMEOUT_S = 150


@pytest.mark.timeout(RUN_TIMEOUT_S + 30)
async def test_every_operation_answers_as_its_openapi_says(start_server, tmp_path: Path) -> None:
    server = await start_server(HELD)
    # Fuzzed webhook URLs point anywhere: their deliveries stay in the outbox.
    await server.app[WEBHOOKS].stop()
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_TOML)
    # Loopback only: no proxy from the environment between the fuzzer and the server.
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    fuzzer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{server.base_url}/openapi.json",
        f"--auth={USER}:{PASSWORD}",
        f"--checks={','.join(CHECKS)}",
        f"--max-examples={MAX_EXAMPLES}",
        "--seed=1",
        # One worker: the run stays reproducible, and Python 3.11.7's parser can fail in
        # threads that compile at once ("AST constructor recursion depth mismatch").
        "--workers=1",
        "--request-timeout=10",
        "--generation-database=none",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(fuzzer.communicate(), RUN_TIMEOUT_S)
    finally:
        if fuzzer.returncode is None:
            fuzzer.kill()
            await fuzzer.wait()
    report = output.decode(errors="replace")
    assert fuzzer.returncode == 0, report[-20_000:]
    # Every operation of the document, none filtered out or skipped.
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    tested = re.search(r"Tested: (\d+)", report)
    assert selected and tested, report[-2_000:]
    assert selected[1] == selected[2] == tested[1], report[-2_000:]


async def test_what_the_fuzzer_found_stays_fixed(start_server) -> None:
    client = (await start_server(HELD, ready=False)).client
    # A repeated Idempotency-Key is checked like a first submission, never answered with the
    # job it first made when the repeat breaks the document.
    key = {"Idempotency-Key": "k-1"}
    status, _ = await client.post("/api/jobs", {"spec": tiny_spec()}, headers=key)
    assert status == 202
    status, out = await client.post(
        "/api/jobs", {"spec": tiny_spec(), "metadata": [None, None]}, headers=key
    )
    assert status == 400 and [e["field"] for e in out["errors"]] == ["metadata"]
    # Present but empty is not absent.
    status, out = await client.get("/api/jobs?limit=")
    assert status == 400 and out["errors"][0]["field"] == "limit"
    # An out-of-range page answers the 400 the document lists.
    status, out = await client.get("/api/reels/?offset=-1")
    assert status == 400 and out["errors"][0]["field"] == "offset"
    _, doc = await client.get("/openapi.json")
    assert "400" in doc["paths"]["/api/reels/"]["get"]["responses"]
