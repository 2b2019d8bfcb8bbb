"""Fixtures for the Runpod endpoint tests: a real server on loopback with an endpoint id (in the
test's event loop), the official `runpod` SDK pointed at it (its blocking calls run in threads)
and raw HTTP. The other API tests use tests/test_server/conftest.py's `start_server`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import runpod
from support.serverkit import (
    API_KEY,
    BEARER,
    Client,
    InProcessServer,
    StartServer,
    serving,
)

ENDPOINT_ID = "reels-endpoint"


@pytest.fixture
async def start_runpod_server(tmp_path: Path, shared_assets: Path) -> AsyncIterator[StartServer]:
    """Start a real server with `[runpod] endpoint_id = ENDPOINT_ID`; stopped after the test.

    `await start_runpod_server({"pool": {"max_concurrent": 1}})` merges sections into the defaults.
    """
    async with serving(tmp_path, shared_assets, {"runpod": {"endpoint_id": ENDPOINT_ID}}) as start:
        yield start


@pytest.fixture
def sdk_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., runpod.Endpoint]]:
    """`sdk_endpoint(server)`: the SDK's `Endpoint`, talking to `server` with the test key.

    The SDK reads `runpod.endpoint_url_base` when a client is made; its HTTP sessions are
    closed at the end so no socket outlives the test."""
    endpoints: list[runpod.Endpoint] = []

    def make(server: InProcessServer, endpoint_id: str = ENDPOINT_ID) -> runpod.Endpoint:
        monkeypatch.setattr(runpod, "endpoint_url_base", f"{server.base_url}/v2")
        endpoint = runpod.Endpoint(endpoint_id, api_key=API_KEY)
        endpoints.append(endpoint)
        return endpoint

    yield make
    for endpoint in endpoints:
        endpoint.rp_client.rp_session.close()


@pytest.fixture
async def raw() -> AsyncIterator[Callable[..., Client]]:
    """`raw(server, auth=BEARER)`: plain HTTP to the server under /v2/ENDPOINT_ID."""
    clients: list[Client] = []

    def make(server: InProcessServer, auth: str | None = BEARER) -> Client:
        client = Client(f"{server.base_url}/v2/{ENDPOINT_ID}", auth=auth)
        clients.append(client)
        return client

    yield make
    await asyncio.gather(*(c.close() for c in clients))
