"""Fixtures for the renderer: tiny real renders (180x320) with the bundled FFmpeg, and worker
pools that stop when the test ends."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

import scenes
from renderer import AssetPolicy, RenderOptions, RenderResult, render
from renderer.pool import WorkerPool

TINY = (180, 320)
PoolFactory = Callable[..., Awaitable[WorkerPool]]


@dataclasses.dataclass
class Rendered:
    result: RenderResult
    out_dir: Path
    progress: list[tuple[int, int]]

    @property
    def video(self) -> Path:
        return self.result.video_path


@pytest.fixture
def options(tmp_path: Path) -> RenderOptions:
    """Tiny, draft, any local file; a cache of its own."""
    return RenderOptions(
        quality="draft",
        threads=2,
        size=TINY,
        assets=AssetPolicy(allow_any_local=True, cache_dir=tmp_path / "cache"),
    )


@pytest.fixture
def render_spec(tmp_path: Path, options: RenderOptions) -> Callable[..., Rendered]:
    """render_spec({...spec...}, **RenderOptions overrides) → Rendered, in its own dir."""
    count = 0

    def run(data: dict[str, Any], **overrides: Any) -> Rendered:
        nonlocal count
        count += 1
        out_dir = tmp_path / f"render-{count}"
        progress: list[tuple[int, int]] = []
        result = render(
            scenes.parse_spec(data),
            out_dir,
            dataclasses.replace(options, **overrides),
            progress=lambda done, total: progress.append((done, total)),
        )
        return Rendered(result, out_dir, progress)

    return run


@pytest.fixture
def ffmpeg_children() -> Callable[[], list[psutil.Process]]:
    """A function listing the live FFmpeg processes this test process started."""

    def find() -> list[psutil.Process]:
        found = []
        for child in psutil.Process(os.getpid()).children(recursive=True):
            try:
                if "ffmpeg" in child.name() and child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child)
            except psutil.NoSuchProcess:
                continue
        return found

    return find


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
