"""Fixtures for the server tests: in-process servers on loopback, a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.serverkit import (
    StartServer,
    WebhookReceiver,
    serving,
)

from server.cli import main


@pytest.fixture
async def start_server(tmp_path: Path, shared_assets: Path) -> AsyncIterator[StartServer]:
    """Start a real server (store, pool, scheduler, webhooks) on a free loopback port.

    `await start_server({"pool": {"max_concurrent": 1}})`; pass `data_dir=` to restart on the
    same data. Every server started is stopped at the end of the test.
    """
    async with serving(tmp_path, shared_assets) as start:
        yield start


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver()
    await hook.start()
    yield hook
    await hook.stop()


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """Run `reelfarm ARGS...` in-process: (exit code, stdout, stderr)."""
    # Keep the operator's environment out: config comes from defaults and flags only.
    for key in [k for k in __import__("os").environ if k.startswith("REELFARM_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("REELFARM_STORAGE_DATA_DIR", str(tmp_path / "data"))

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run
