"""Fixtures for the renderer: tiny real renders (180x320) with the bundled FFmpeg."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

import scenes
from renderer import AssetPolicy, RenderOptions, RenderResult, render

TINY = (180, 320)


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
