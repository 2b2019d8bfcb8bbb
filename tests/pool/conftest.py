"""Fixtures for the worker-pool tests: pools that stop when the test ends, render options."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from renderer.pool import WorkerPool
from renderer.types import AssetPolicy, RenderOptions

PoolFactory = Callable[..., Awaitable[WorkerPool]]


@pytest.fixture
def photo(shared_assets: Path) -> Path:
    return shared_assets / "cat.jpg"


@pytest.fixture
def render_options(shared_assets: Path, tmp_path: Path) -> RenderOptions:
    return RenderOptions(
        prefer=("libx264",),
        quality="draft",
        assets=AssetPolicy(allowed_dirs=(shared_assets,), cache_dir=tmp_path / "cache"),
    )


@pytest.fixture
async def make_pool(render_options: RenderOptions) -> AsyncIterator[PoolFactory]:
    """Start pools of warm workers; every one is stopped when the test ends."""
    pools: list[WorkerPool] = []

    async def make(size: int = 1, **kwargs: Any) -> WorkerPool:
        kwargs.setdefault("threads_per_render", 1)
        pool = WorkerPool(size, kwargs.pop("options", render_options), **kwargs)
        pools.append(pool)
        await pool.start()
        return pool

    yield make
    for pool in pools:
        await pool.stop(timeout_s=5)
