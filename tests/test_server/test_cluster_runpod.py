"""The Runpod endpoint on several nodes sharing a Redis: a caller's request rate is one budget
whichever node it calls, and `/stream` hands each chunk out once whichever node is polled —
the final output exactly once, progress recorded by the rendering node read through the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from support.redis_server import RedisServer
from support.redis_server import redis_server as redis_server  # the fixture
from support.serverkit import Client, InProcessServer, StartServer, serving, slow_spec
from support.waiting import wait_until

ENDPOINT_ID = "cluster-endpoint"
# A node that never claims: its disk gate asks for more free space than any box has.
HOLDS_ALL = {"admission": {"min_free_disk_mb": 2**40}}


@pytest.fixture
async def start_node(
    tmp_path: Path, shared_assets: Path, redis_server: RedisServer
) -> AsyncIterator[StartServer]:
    sections = {
        "storage": {"backend": "redis", "redis_url": redis_server.url},
        "runpod": {"endpoint_id": ENDPOINT_ID},
    }
    async with serving(tmp_path, shared_assets, sections) as start:
        yield start


@pytest.fixture
async def runpod_client() -> AsyncIterator[Any]:
    clients: list[Client] = []

    def make(server: InProcessServer) -> Client:
        client = Client(f"{server.base_url}/v2/{ENDPOINT_ID}")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def test_a_callers_request_rate_is_one_budget_across_nodes(
    start_node: StartServer, runpod_client: Any
) -> None:
    limited = {"runpod": {"requests_per_s": 2}}
    first = runpod_client(await start_node(limited))
    second = runpod_client(await start_node(limited))
    answers = [
        (await first.request("GET", "/health"))[0],
        (await first.request("GET", "/health"))[0],
        (await second.request("GET", "/health"))[0],  # the burst is spent, on the other node
    ]
    assert answers == [200, 200, 429]

    async def allowed_again() -> bool:
        return (await second.request("GET", "/health"))[0] == 200

    await wait_until(allowed_again, 5, interval_s=0.25)


async def test_stream_chunks_come_once_whichever_node_is_polled(
    start_node: StartServer, runpod_client: Any, shared_assets: Path
) -> None:
    rendering = runpod_client(await start_node({"pool": {"max_concurrent": 1}}))
    other = runpod_client(await start_node(HOLDS_ALL))
    code, submitted = await other.post("/run", {"input": slow_spec(shared_assets, 3)})
    assert code == 200
    job_id = submitted["id"]
    calls: list[tuple[str, list[dict[str, Any]]]] = []

    async def poll(name: str, client: Any) -> dict[str, Any]:
        code, body = await client.get(f"/stream/{job_id}")
        assert code == 200, body
        calls.append((name, body["stream"]))
        return body

    async def first_chunk_from_the_rendering_node() -> bool:
        return bool((await poll("rendering", rendering))["stream"])

    async def the_rest_from_the_other() -> bool:
        body = await poll("other", other)
        return body["status"] == "COMPLETED" and not body["stream"]

    # The stream is begun on one node and finished on the other: whichever node a poll
    # reaches hands out what no poll has had yet.
    await wait_until(first_chunk_from_the_rendering_node, 90, interval_s=0.05)
    await wait_until(the_rest_from_the_other, 90, interval_s=0.2)
    chunks = [chunk["output"] for _, call in calls for chunk in call]
    finals = [chunk for chunk in chunks if "video_url" in chunk]
    assert len(finals) == 1 and finals[0]["duration_s"] == 3.0
    percents = [chunk["progress"] for chunk in chunks if "video_url" not in chunk]
    assert len(percents) > 2 and percents == sorted(set(percents)), percents
    # Both nodes handed chunks out: one stream, whichever node a poll reached.
    assert {name for name, call in calls if call} == {"rendering", "other"}
