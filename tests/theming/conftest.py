"""Fixtures for theme, text card and effect tests: the bundled FFmpeg, theme dirs, pixel helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import pytest


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture
def theme_dir(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write an operator theme file: theme_dir("name", "toml text") → the dir holding it."""
    directory = tmp_path / "operator-themes"
    directory.mkdir()

    def write(name: str, text: str) -> Path:
        (directory / f"{name}.toml").write_text(text, encoding="utf-8")
        return directory

    return write
