"""Fixtures for the server tests: in-process servers on loopback, a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from serverkit import (
    InProcessServer,
    WebhookReceiver,
    base_overrides,
    config_from,
    free_port,
    merge,
)

StartServer = Callable[..., Awaitable[InProcessServer]]


@pytest.fixture
async def start_server(tmp_path: Path, shared_assets: Path) -> AsyncIterator[StartServer]:
    """Start a real server (store, pool, scheduler, webhooks) on a free loopback port.

    `await start_server({"pool": {"max_concurrent": 1}})`; pass `data_dir=` to restart on the
    same data. Every server started is stopped at the end of the test.
    """
    started: list[InProcessServer] = []

    async def start(
        extra: dict[str, Any] | None = None, *, data_dir: Path | None = None, ready: bool = True
    ) -> InProcessServer:
        overrides = merge(
            base_overrides(data_dir or tmp_path / "data", free_port(), shared_assets), extra or {}
        )
        server = await InProcessServer.start(config_from(overrides), ready=ready)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        await server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver()
    await hook.start()
    yield hook
    await hook.stop()
