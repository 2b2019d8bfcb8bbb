"""Fixtures shared by every test folder; each folder keeps its own in its conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_ASSETS = (ROOT.parent / "shared" / "assets").resolve()

# The deploy files and Prometheus fixtures serve both tests/test_deploy and the live
# Prometheus tests in tests/test_server.
pytest_plugins = ["support.deploy_files"]


@pytest.fixture(scope="session")
def shared_assets() -> Path:
    """The shared test media (photos, a clip, music, a voiceover), read-only."""
    if not SHARED_ASSETS.is_dir():
        pytest.fail(f"test media not found at {SHARED_ASSETS}: ../shared must sit beside the repo")
    return SHARED_ASSETS


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    """The bundled FFmpeg (imageio-ffmpeg)."""
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
